package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.files.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * SHA-256 digests of model files, remembered by (path, size, modification time) in a small
 * JSON file in the cache, so a multi-gigabyte model is hashed once, not on every start.
 */
public final class ContentDigest {
    private final Path memoFile;
    private final ObjectNode memo;
    private boolean dirty;

    public ContentDigest(Path memoFile) throws IOException {
        this.memoFile = memoFile;
        ObjectNode m = null;
        if (Files.isRegularFile(memoFile)) {
            try {
                var n = new ObjectMapper().readTree(memoFile.toFile());
                if (n instanceof ObjectNode o) m = o;
            } catch (IOException e) {
                m = null; // a damaged memo only costs re-hashing
            }
        }
        this.memo = m != null ? m : new ObjectMapper().createObjectNode();
    }

    /** The SHA-256 of a file's bytes (hex). */
    public String file(Path file) throws IOException {
        Path abs = file.toAbsolutePath().normalize();
        long size = Files.size(abs);
        long mtime = Files.getLastModifiedTime(abs).toMillis();
        String stamp = size + ":" + mtime;
        var entry = memo.get(abs.toString());
        if (entry != null && stamp.equals(entry.path("stamp").asText())) return entry.path("sha256").asText();
        String digest = sha256(abs);
        ObjectNode e = memo.putObject(abs.toString());
        e.put("stamp", stamp);
        e.put("sha256", digest);
        dirty = true;
        return digest;
    }

    /** A digest of a folder's files (names and contents), in name order. */
    public String folder(Path dir) throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
        MessageDigest md = newDigest();
        for (Path f : files) {
            md.update(dir.relativize(f).toString().replace('\\', '/').getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(file(f).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Saves newly computed digests (best effort: the memo is only a speed-up). */
    public void save() {
        if (!dirty) return;
        try {
            Files.createDirectories(memoFile.getParent());
            byte[] json = new ObjectMapper().writeValueAsBytes(memo);
            AtomicFiles.write(memoFile, json);
            dirty = false;
        } catch (IOException ignored) {
            // next start hashes again
        }
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md = newDigest();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static String sha256(String text) {
        return HexFormat.of().formatHex(newDigest().digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
