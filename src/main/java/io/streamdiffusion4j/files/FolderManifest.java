package io.streamdiffusion4j.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The list of a finished folder's files with their sizes and CRC32C checksums, written as the
 * folder's last file and checked before the folder is used again. A cache entry whose manifest
 * is missing (interrupted, or made by an older version), or whose files do not match it
 * (truncated, overwritten, deleted), is damaged and must be rebuilt rather than loaded.
 *
 * <p>CRC32C rather than a cryptographic digest: it guards against accidents (a full disk, a
 * crash, a stray write), not against an attacker who can write to the cache, and the JDK
 * computes it at memory speed, so checking a multi-gigabyte model costs about one read of it.
 */
public final class FolderManifest {
    /** The manifest's name inside the folder it describes. */
    public static final String FILE_NAME = "streamdiffusion4j-manifest.json";
    /** A manifest larger than this is not one of ours (even a sharded model lists a few hundred files). */
    private static final long MAX_MANIFEST_BYTES = 4L << 20;
    private static final int FORMAT = 1;

    private FolderManifest() {}

    /** Records every regular file under {@code dir}; the manifest appears in one rename, after everything else. */
    public static void write(Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("format", FORMAT);
        ArrayNode files = root.putArray("files");
        for (Path f : files(dir)) {
            files.addObject()
                    .put("path", relative(dir, f))
                    .put("size", Files.size(f))
                    .put("crc32c", crc32c(f));
        }
        Path tmp = dir.resolve(FILE_NAME + ".tmp");
        json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root);
        Files.move(tmp, dir.resolve(FILE_NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * What is wrong with {@code dir} compared with its manifest, or null when every listed file is
     * there with its recorded size and checksum. Files not in the manifest are ignored.
     */
    public static String damage(Path dir) {
        Path manifest = dir.resolve(FILE_NAME);
        JsonNode root;
        try {
            if (!Files.isRegularFile(manifest)) return "it has no " + FILE_NAME + " (unfinished, or made by an older version)";
            if (Files.size(manifest) > MAX_MANIFEST_BYTES) return manifest + " is larger than any manifest this program writes";
            root = new ObjectMapper().readTree(manifest.toFile());
        } catch (IOException e) {
            return "cannot read " + manifest + ": " + e.getMessage();
        }
        if (root == null || root.path("format").asInt(-1) != FORMAT || !root.path("files").isArray()
                || root.path("files").isEmpty()) {
            return manifest + " is not a manifest of format " + FORMAT;
        }
        Path base = dir.toAbsolutePath().normalize();
        for (JsonNode entry : root.get("files")) {
            String name = entry.path("path").asText("");
            Path file = base.resolve(name).normalize();
            if (name.isEmpty() || !file.startsWith(base) || file.equals(base)) {
                return manifest + " lists a path outside its folder: '" + name + "'";
            }
            long size = entry.path("size").asLong(-1);
            String crc = entry.path("crc32c").asText("");
            try {
                if (!Files.isRegularFile(file)) return name + " is missing";
                long actual = Files.size(file);
                if (actual != size) return name + " is " + actual + " bytes, the manifest says " + size;
                if (!crc.equals(crc32c(file))) return name + " does not match its checksum (its contents changed)";
            } catch (IOException e) {
                return "cannot read " + file + ": " + e.getMessage();
            }
        }
        return null;
    }

    private static List<Path> files(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith(FILE_NAME))
                    .sorted()
                    .forEach(out::add);
        }
        if (out.isEmpty()) throw new IOException("nothing to record: " + dir + " holds no files");
        return out;
    }

    private static String relative(Path dir, Path file) {
        return dir.relativize(file).toString().replace('\\', '/');
    }

    static String crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) crc.update(buf, 0, n);
        }
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }
}
