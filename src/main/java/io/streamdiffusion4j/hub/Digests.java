package io.streamdiffusion4j.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 of files, for checking cached blobs against their names. Callers with a memo (the
 * model store remembers digests by path, size and time) pass their own, so a multi-gigabyte
 * model is hashed once, not on every start.
 */
@FunctionalInterface
public interface Digests {
    String sha256(Path file) throws IOException;

    /** Hashes every time. */
    Digests PLAIN = Digests::hash;

    static String hash(Path file) throws IOException {
        MessageDigest md = newSha256();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
