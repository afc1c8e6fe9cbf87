package io.streamdiffusion4j.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Damaged variants of the fixture models for error-path tests: a model folder made of links to
 * the fixture's parts with one part replaced, a safetensors file with one tensor's declared
 * shape changed, truncation. The fixtures themselves are only read.
 */
public final class DamagedModels {
    private DamagedModels() {}

    /**
     * A copy of {@code model}'s layout under {@code to}: every file a link to the original,
     * except {@code replaced} (a path relative to the model), which the caller writes.
     */
    public static Path linkedCopy(Path model, Path to, String replaced) throws IOException {
        Path source = model.toAbsolutePath();
        try (Stream<Path> files = Files.walk(source)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String rel = source.relativize(f).toString();
                if (rel.equals(replaced)) continue;
                Path link = to.resolve(rel);
                Files.createDirectories(link.getParent());
                Files.createSymbolicLink(link, f);
            }
        }
        Files.createDirectories(to.resolve(replaced).getParent());
        return to.resolve(replaced);
    }

    /** Writes {@code from} to {@code to} with the header's shape of {@code tensor} replaced (the data unchanged). */
    public static void reshapeTensor(Path from, Path to, String tensor, int... shape) throws IOException {
        byte[] bytes = Files.readAllBytes(from);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = (ObjectNode) json.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
        ArrayNode s = ((ObjectNode) header.get(tensor)).putArray("shape");
        for (int d : shape) s.add(d);
        byte[] h = json.writeValueAsBytes(header);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + bytes.length - 8 - (int) headerLength).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(h);
        for (int i = h.length; i < padded; i++) out.put((byte) ' ');
        out.put(bytes, 8 + (int) headerLength, bytes.length - 8 - (int) headerLength);
        Files.write(to, out.array());
    }

    /** Cuts a file to half its length. */
    public static void truncateToHalf(Path file) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
    }

    /** Flips bits through a file without changing its size. */
    public static void corrupt(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        for (int i = bytes.length / 3; i < bytes.length; i += 97) bytes[i] ^= 0x5a;
        Files.write(file, bytes);
    }

    /** The names in a folder, hidden ones (staging folders) included. */
    public static List<String> listing(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
