package io.streamdiffusion4j.hub;

import io.streamdiffusion4j.hub.HubException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads one file into {@code blobs/<etag>}: bytes go to {@code blobs/<etag>.incomplete},
 * which a later attempt resumes with {@code Range: bytes=N-}; the whole is checked (size, and
 * the SHA-256 when the ETag is one, as it is for every LFS file) and only then renamed into
 * place, so a blob in the cache is always complete. A lock file ({@code .locks/...}) keeps two
 * processes of this program from writing the same blob. (Python's {@code filelock} uses
 * {@code flock}, which on Linux does not see the {@code fcntl} locks Java takes; a Python process
 * downloading the same file at the same moment is not held off.)
 */
final class BlobDownloader {
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    private final HubHttp http;
    private final HubCache cache;
    private final Duration stallTimeout;

    /** @param stallTimeout how long a transfer may go without data before it is abandoned (and resumable) */
    BlobDownloader(HubHttp http, HubCache cache, Duration stallTimeout) {
        this.http = http;
        this.cache = cache;
        this.stallTimeout = stallTimeout;
    }

    /**
     * @param bytesDone receives how many bytes of this file are on disk, resumed ones included
     * @return the blob
     */
    Path download(RepoRef ref, String path, HubHttp.FileMetadata meta, LongConsumer bytesDone) throws IOException {
        Path blob = cache.blob(ref, meta.etag());
        Path lockFile = cache.lockFile(ref, meta.etag());
        Files.createDirectories(lockFile.getParent());
        Files.createDirectories(blob.getParent());
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            lockChannel.lock();   // held until the channel is closed
            if (Files.isRegularFile(blob)) return blob;   // another process finished it while we waited
            Path partial = cache.incomplete(ref, meta.etag());
            long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
            if (meta.size() >= 0 && have > meta.size()) {
                Files.delete(partial);   // longer than the file can be: not a prefix of it
                have = 0;
            }
            MessageDigest md = Digests.newSha256();
            if (have > 0) hashPrefix(partial, md);
            bytesDone.accept(have);
            if (meta.size() < 0 || have < meta.size()) have = transfer(ref, path, meta, partial, have, md, bytesDone);
            String where = ref.repo() + "/" + path;
            if (meta.size() >= 0 && have < meta.size()) {
                throw new HubException(Reason.INTERRUPTED, "the download of " + where + " stopped after " + have + " of "
                        + meta.size() + " bytes; the partial file is kept (" + partial + "): run the same command again"
                        + " to resume it");
            }
            String actual = HexFormat.of().formatHex(md.digest());
            boolean sizeWrong = meta.size() >= 0 && have != meta.size();
            boolean shaWrong = HubCache.isSha256(meta.etag()) && !actual.equals(meta.etag().toLowerCase(Locale.ROOT));
            if (sizeWrong || shaWrong) {
                Files.deleteIfExists(partial);
                throw new HubException(Reason.CORRUPT, "the download of " + where + " is corrupted: "
                        + (shaWrong ? "its SHA-256 is " + actual + " but the Hub's checksum (ETag) is " + meta.etag()
                        : have + " bytes arrived, the Hub announced " + meta.size())
                        + "; the file was deleted and not used. Run the command again; if it repeats, the Hub or a proxy"
                        + " is sending bad data");
            }
            Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return blob;
        }
    }

    /** Fetches the rest of the file; returns how many bytes the partial file holds afterwards. */
    private long transfer(RepoRef ref, String path, HubHttp.FileMetadata meta, Path partial, long have, MessageDigest md,
                          LongConsumer bytesDone) throws IOException {
        String where = ref.repo() + "/" + path;
        HttpResponse<InputStream> r = http.get(meta.url(), have, ref, path);
        // The HTTP client has no read timeout for a body, so a watchdog closes a stalled stream,
        // which makes the blocked read fail (and the partial file resumable).
        AtomicLong lastData = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        InputStream body = r.body();
        Thread watchdog = Thread.ofVirtual().start(() -> {
            long limit = stallTimeout.toNanos();
            try {
                while (true) {
                    Thread.sleep(Math.max(10, Math.min(1000, stallTimeout.toMillis() / 4)));
                    if (System.nanoTime() - lastData.get() > limit) {
                        stalled.set(true);
                        HubHttp.closeQuietly(body);
                        return;
                    }
                }
            } catch (InterruptedException done) {
                // the transfer ended
            }
        });
        try (InputStream in = body) {
            int status = r.statusCode();
            if (status == 416) return have;   // nothing after byte `have`: the partial file is whole; the checks decide
            boolean append = false;
            if (status == 206) {
                String range = r.headers().firstValue("Content-Range").orElse("");
                Matcher m = CONTENT_RANGE.matcher(range);
                if (!m.matches() || Long.parseLong(m.group(1)) != have) {
                    throw new HubException(Reason.PROTOCOL, "asked for " + where + " from byte " + have
                            + ", the server sent the range '" + range + "'");
                }
                append = true;
            } else if (have > 0) {
                have = 0;   // the server ignored Range and sends the whole file: start over
                md.reset();
                bytesDone.accept(0);
            }
            try (FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] buf = new byte[1 << 20];
                while (true) {
                    int n;
                    try {
                        n = in.read(buf);
                    } catch (IOException e) {
                        String why = stalled.get() ? "no data arrived for " + stallTimeout.toMillis() / 1000.0
                                + " s (HF_HUB_DOWNLOAD_TIMEOUT)" : String.valueOf(e.getMessage());
                        throw new HubException(Reason.INTERRUPTED, "the download of " + where + " was interrupted after "
                                + have + (meta.size() >= 0 ? " of " + meta.size() : "") + " bytes (" + why
                                + "); the partial file is kept (" + partial + "): run the same command again to resume it", e);
                    }
                    lastData.set(System.nanoTime());
                    if (n < 0) break;
                    try {
                        ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                        while (b.hasRemaining()) out.write(b);
                    } catch (IOException e) {
                        throw writeFailure(e, partial, where);
                    }
                    md.update(buf, 0, n);
                    have += n;
                    bytesDone.accept(have);
                }
            }
        } finally {
            watchdog.interrupt();
        }
        return have;
    }

    private static IOException writeFailure(IOException e, Path partial, String where) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left") || m.contains("not enough space") || m.contains("disk full")) {
            return new HubException(Reason.DISK_FULL, "the disk is full: could not write " + where + " to " + partial
                    + ". Free some space (the partial file is kept and resumes), or set HF_HUB_CACHE to a folder on a"
                    + " larger disk", e);
        }
        return new IOException("could not write " + partial + " (" + where + "): " + m, e);
    }

    private static void hashPrefix(Path file, MessageDigest md) throws IOException {
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
        }
    }
}
