package io.streamdiffusion4j.hub;

import io.streamdiffusion4j.hub.HubException.Reason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Fetches the files of a Hub repository that a {@link FileSelector} asks for into Python's cache
 * layout ({@link HubCache}) and returns them as a {@link Snapshot}.
 *
 * <p>The cache is looked at first: when the revision's snapshot already holds everything the
 * selector needs (downloaded here or by Python), no request is made at all, so a model that was
 * fetched once starts without the network. A branch such as {@code main} is therefore not
 * re-checked for newer commits; name a commit ({@code org/name@<hash>}) or delete
 * {@code refs/main} to move on. With {@code HF_HUB_OFFLINE} the cache is all there is, and a
 * missing file is an error that says which. Otherwise the revision's file list is read, and
 * each missing file is looked up ({@code HEAD}), downloaded, checked and linked.
 *
 * <p>Cached LFS blobs are checked against their SHA-256 names before use (through
 * {@link Digests}, which callers can back with a memo); a damaged one is downloaded again, or
 * reported when offline.
 */
public final class HubClient implements AutoCloseable {

    /** Free space on the cache's disk (a parameter so tests can pretend the disk is full). */
    @FunctionalInterface
    interface FreeSpace {
        long usableBytes(Path dir) throws IOException;
    }

    private final HubSettings settings;
    private final HubCache cache;
    private final Digests digests;
    private final FreeSpace freeSpace;
    private HubHttp http;   // created on first network use: a cache hit needs none

    public HubClient(HubSettings settings) {
        this(settings, Digests.PLAIN);
    }

    public HubClient(HubSettings settings, Digests digests) {
        this(settings, digests, dir -> Files.getFileStore(dir).getUsableSpace());
    }

    HubClient(HubSettings settings, Digests digests, FreeSpace freeSpace) {
        this.settings = settings;
        this.cache = new HubCache(settings.cacheDir());
        this.digests = digests;
        this.freeSpace = freeSpace;
    }

    public HubSettings settings() {
        return settings;
    }

    public HubCache cache() {
        return cache;
    }

    /** The files {@code selector} picks from {@code ref}'s revision, from the cache or downloaded into it. */
    public Snapshot fetch(RepoRef ref, FileSelector selector, DownloadProgress progress) throws IOException {
        String cachedCommit = cache.commitFor(ref);
        CacheCheck cached = cachedCommit == null ? null : checkCache(ref, cachedCommit, selector);
        if (cached != null && cached.snapshot() != null) {
            noteHalfPrecision(cached.snapshot(), progress);
            return cached.snapshot();
        }
        if (settings.offline()) {
            if (cached != null && cached.corrupt() != null) {
                throw new HubException(Reason.CORRUPT, "HF_HUB_OFFLINE is set and the cached copy of " + ref + " is"
                        + " damaged: " + cached.corrupt() + ". Unset HF_HUB_OFFLINE to download it again");
            }
            String why = cachedCommit == null
                    ? ref.repository() + (ref.pinned() ? "" : " (revision " + ref.revision() + ")") + " was never downloaded"
                    + " into " + cache.repoDir(ref) + (ref.pinned() ? "" : " (there is no refs/" + ref.revision() + ")")
                    : "the cached snapshot " + cache.snapshotDir(ref, cachedCommit) + " is incomplete: " + cached.missing();
            throw new HubException(Reason.OFFLINE_MISSING, "HF_HUB_OFFLINE is set, so nothing is downloaded, and " + why
                    + ". Unset HF_HUB_OFFLINE (or HF_HUB_CACHE) to fetch it, or download it with Python first");
        }
        return download(ref, selector, progress);
    }

    /** What the cache holds for a commit: a usable snapshot, or why not. */
    private record CacheCheck(Snapshot snapshot, String missing, String corrupt) {}

    private CacheCheck checkCache(RepoRef ref, String commit, FileSelector selector) throws IOException {
        Map<String, Path> present = cache.snapshotFiles(ref, commit);
        FileSelector.Selection sel;
        try {
            sel = selector.select(ref, present.keySet());
        } catch (HubException e) {
            return new CacheCheck(null, e.getMessage(), null);
        }
        Path dir = cache.snapshotDir(ref, commit);
        Map<String, String> etags = new LinkedHashMap<>();
        for (String f : sel.files()) {
            Path pointer = dir.resolve(f);
            String etag = HubCache.etagOf(pointer);
            if (etag == null) {
                etags.put(f, "sha256-" + digests.sha256(pointer));   // a plain copy (no symlinks): hash the content
                continue;
            }
            if (HubCache.isSha256(etag)) {
                String actual = digests.sha256(present.get(f));
                if (!actual.equals(etag.toLowerCase(Locale.ROOT))) {
                    return new CacheCheck(null, null, f + " (" + present.get(f) + " has SHA-256 " + actual + ")");
                }
            }
            etags.put(f, etag);
        }
        return new CacheCheck(new Snapshot(ref, commit, dir, etags, sel.layout()), null, null);
    }

    private record Pending(String path, HubHttp.FileMetadata meta) {}

    private Snapshot download(RepoRef ref, FileSelector selector, DownloadProgress progress) throws IOException {
        HubHttp api = http();
        HubHttp.Listing listing = api.listing(ref);
        String commit = listing.commit();
        FileSelector.Selection sel = selector.select(ref, listing.files());
        Path dir = cache.snapshotDir(ref, commit);
        Map<String, String> etags = new LinkedHashMap<>();
        List<Pending> pending = new ArrayList<>();
        for (String f : sel.files()) {
            Path pointer = dir.resolve(f);
            if (Files.isRegularFile(pointer)) {
                String etag = HubCache.etagOf(pointer);
                if (etag == null) {
                    etags.put(f, "sha256-" + digests.sha256(pointer));
                    continue;
                }
                if (!HubCache.isSha256(etag) || digests.sha256(pointer.toRealPath()).equals(etag.toLowerCase(Locale.ROOT))) {
                    etags.put(f, etag);
                    continue;
                }
                progress.note("cached " + ref.repo() + "/" + f + " does not match its checksum; downloading it again");
                Files.deleteIfExists(pointer.toRealPath());
                Files.deleteIfExists(pointer);
            }
            HubHttp.FileMetadata meta = api.head(ref, commit, f);
            Path blob = cache.blob(ref, meta.etag());
            if (Files.isRegularFile(blob)) {
                if (!HubCache.isSha256(meta.etag()) || digests.sha256(blob).equals(meta.etag().toLowerCase(Locale.ROOT))) {
                    linkInto(ref, commit, f, meta.etag(), progress);
                    etags.put(f, meta.etag());
                    continue;
                }
                progress.note("cached blob " + blob + " does not match its checksum; downloading it again");
                Files.delete(blob);
            }
            pending.add(new Pending(f, meta));
        }
        if (!pending.isEmpty()) fetchAll(ref, commit, pending, etags, progress);
        cache.writeRef(ref, commit);
        return new Snapshot(ref, commit, dir, etags, sel.layout());
    }

    private void fetchAll(RepoRef ref, String commit, List<Pending> pending, Map<String, String> etags,
                          DownloadProgress progress) throws IOException {
        long total = 0;
        long needed = 0;
        boolean known = true;
        for (Pending p : pending) {
            long size = p.meta().size();
            if (size < 0) {
                known = false;
                continue;
            }
            total += size;
            Path partial = cache.incomplete(ref, p.meta().etag());
            needed += size - (Files.isRegularFile(partial) ? Math.min(size, Files.size(partial)) : 0);
        }
        Path blobs = Files.createDirectories(cache.repoDir(ref).resolve("blobs"));
        long free = freeSpace.usableBytes(blobs);
        if (needed > free) {
            throw new HubException(Reason.DISK_FULL, "not enough disk space to download " + ref.repository() + ": "
                    + megabytes(needed) + " needed, " + megabytes(free) + " free in " + cache.root()
                    + ". Free some space, or set HF_HUB_CACHE to a folder on a larger disk");
        }
        progress.start("download " + ref.repo(), known ? total : -1);
        try {
            long before = 0;
            for (Pending p : pending) {
                long base = before;
                Path partial = cache.incomplete(ref, p.meta().etag());
                if (Files.isRegularFile(partial)) {
                    progress.note("resuming " + ref.repo() + "/" + p.path() + " after " + megabytes(Files.size(partial)));
                }
                new BlobDownloader(http(), cache, settings.downloadTimeout()).download(ref, p.path(), p.meta(), done -> progress.advance(base + done));
                before += Math.max(0, p.meta().size());
                linkInto(ref, commit, p.path(), p.meta().etag(), progress);
                etags.put(p.path(), p.meta().etag());
            }
            progress.advance(before);
        } finally {
            progress.finish();
        }
    }

    private void linkInto(RepoRef ref, String commit, String path, String etag, DownloadProgress progress) throws IOException {
        if (!cache.link(ref, commit, path, etag)) {
            progress.note("this file system has no symbolic links: copied " + path + " into the snapshot (as Python does)");
        }
    }

    private static void noteHalfPrecision(Snapshot s, DownloadProgress progress) {
        List<String> half = s.files().keySet().stream().filter(f -> f.contains(".fp16")).sorted().toList();
        if (!half.isEmpty() && s.layout() == FileSelector.Layout.DIFFUSERS) {
            progress.note("using the float16 weights already in the cache for " + s.ref().repo() + ": " + String.join(", ", half));
        }
    }

    private static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private HubHttp http() {
        if (http == null) http = new HubHttp(settings);
        return http;
    }

    @Override
    public void close() {
        if (http != null) http.close();
    }
}
