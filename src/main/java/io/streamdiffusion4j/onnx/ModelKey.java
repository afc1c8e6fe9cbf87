package io.streamdiffusion4j.onnx;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A short key that changes whenever a model changes: the digest of the model file's path and of
 * the name, size, modification time and (where the file system has them) inode and status-change
 * time of every file in its folder (external data included). Hashing the contents of a
 * multi-gigabyte UNet on every start would cost more than it saves; the status-change time is
 * the cheap stand-in for the contents: every write sets it, and unlike the modification time no
 * tool can set it back (a copy with {@code cp -p} or {@code rsync -t} keeps size and mtime).
 */
final class ModelKey {
    private ModelKey() {}

    static String of(Path modelFile, String... extra) throws InvalidModelException {
        MessageDigest sha = sha256();
        Path file = modelFile.toAbsolutePath().normalize();
        update(sha, file.toString());
        try (Stream<Path> siblings = Files.list(file.getParent())) {
            List<Path> sorted = siblings.filter(Files::isRegularFile).sorted().toList();
            for (Path p : sorted) {
                update(sha, p.getFileName() + ":" + Files.size(p) + ":" + Files.getLastModifiedTime(p).toMillis()
                        + ":" + changeStamp(p));
            }
        } catch (IOException e) {
            throw new InvalidModelException("cannot list the files of " + file.getParent() + ": " + e.getMessage(), e);
        }
        for (String s : extra) update(sha, s);
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }

    /** The inode and status-change time of a file, or "" where the file system has no "unix" view. */
    private static String changeStamp(Path p) throws IOException {
        try {
            Map<String, Object> a = Files.readAttributes(p, "unix:ino,ctime");
            Object ctime = a.get("ctime");
            return a.get("ino") + ":" + (ctime instanceof FileTime t ? t.to(TimeUnit.NANOSECONDS) : ctime);
        } catch (UnsupportedOperationException | IllegalArgumentException noUnixView) {
            return "";
        }
    }

    static String of(String... parts) {
        MessageDigest sha = sha256();
        for (String s : parts) update(sha, s);
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }

    private static void update(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
