package io.streamdiffusion4j.files;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Locale;

/**
 * Writing a file so that its final name only ever holds a complete file: the bytes go to a
 * hidden temporary file in the same folder, which is renamed over the final name when (and only
 * when) everything was written. On any failure the temporary file is deleted and the final name
 * is left as it was. A full disk is said in so many words, with the file's name.
 */
public final class AtomicFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {}

    /** Writes the file's content to a stream. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    public static void write(Path file, byte[] bytes) throws IOException {
        write(file, out -> out.write(bytes));
    }

    public static void write(Path file, Content content) throws IOException {
        Path tmp = temporarySibling(file, ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                content.writeTo(out);
            }
            moveIntoPlace(tmp, file);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw explain(file, e);
        } catch (RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * A new, empty hidden file next to {@code file} for a writer that needs a path (ffmpeg);
     * {@code suffix} keeps what the writer reads from the name (".mp4" picks the container).
     */
    public static Path temporarySibling(Path file, String suffix) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        // Not Files.createTempFile: its files are private (0600), and the final file should get the
        // permissions any new file gets (the umask's), as it would if written in place.
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + abs.getFileName() + ".partial-" + Long.toUnsignedString(RANDOM.nextLong(), 36) + suffix);
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) throw e;
            } catch (IOException e) {
                throw explain(file, e);
            }
        }
    }

    /** Renames a finished temporary file over {@code file}, atomically where the filesystem can. */
    public static void moveIntoPlace(Path tmp, Path file) throws IOException {
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Whether a message is the operating system's (or ffmpeg's) "disk full" (ENOSPC, or a quota). */
    public static boolean isDiskFull(String message) {
        if (message == null) return false;
        String m = message.toLowerCase(Locale.ROOT);
        return m.contains("no space left on device") || m.contains("disk quota exceeded");
    }

    /** The failure to write {@code file}, naming it, and saying when the disk is full. */
    public static IOException explain(Path file, IOException e) {
        String reason = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
        if (isDiskFull(reason) || (e.getCause() != null && isDiskFull(e.getCause().getMessage()))) {
            return new IOException("cannot write " + file + ": the disk is full (" + (reason == null ? "No space left on device"
                    : reason) + ")", e);
        }
        if (reason != null && reason.contains(file.getFileName().toString())) return e;
        return new IOException("cannot write " + file + ": " + (reason == null ? e.getClass().getSimpleName() : reason), e);
    }
}
