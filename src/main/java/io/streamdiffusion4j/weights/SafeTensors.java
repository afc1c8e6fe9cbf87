package io.streamdiffusion4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A {@code .safetensors} file: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range (relative to the end of the header), then the raw
 * little-endian data. Each tensor is memory-mapped on its own when read (so files beyond 2 GiB
 * work), and the header is checked completely on open: a malformed header, offsets out of range
 * or a size that does not match the shape is an error naming the file and the tensor.
 */
public final class SafeTensors implements WeightSource {
    private static final long MAX_HEADER = 100L * 1024 * 1024;

    /** One tensor's entry in the header. */
    public record Entry(String name, DType dtype, int[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries,
                        Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafeTensors open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new InputFileException("weights file not found: " + file);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) throw new InputFileException(file + ": not a safetensors file (shorter than its 8-byte header length)");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new InputFileException(file + ": not a safetensors file (header length " + headerLen + " for a file of "
                        + size + " bytes)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(new String(header.array(), StandardCharsets.UTF_8));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new InputFileException(file + ": malformed safetensors header (not JSON): " + InputFiles.jsonProblem(e), e);
            }
            if (root == null || !root.isObject()) throw new InputFileException(file + ": malformed safetensors header (not an object)");
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(e.getKey(), parseEntry(file, e.getKey(), e.getValue(), dataSize));
            }
            return new SafeTensors(file, ch, dataStart, Collections.unmodifiableMap(entries), metadata);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static Entry parseEntry(Path file, String name, JsonNode n, long dataSize) throws IOException {
        String where = file + ": tensor '" + name + "'";
        if (!n.isObject()) throw new InputFileException(where + ": expected an object with dtype, shape and data_offsets");
        DType dtype = DType.fromSafetensors(n.path("dtype").asText());
        if (dtype == null) throw new InputFileException(where + ": unsupported dtype " + n.get("dtype"));
        JsonNode s = n.get("shape");
        JsonNode o = n.get("data_offsets");
        if (s == null || !s.isArray() || o == null || !o.isArray() || o.size() != 2) {
            throw new InputFileException(where + ": expected 'shape' and two 'data_offsets'");
        }
        int[] shape = new int[s.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = s.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() < 0) {
                throw new InputFileException(where + ": bad shape " + s + " (dimensions are whole numbers >= 0)");
            }
            shape[i] = d.intValue();
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new InputFileException(where + ": shape " + s + " has more elements than a file can hold");
            }
        }
        if (!o.get(0).isIntegralNumber() || !o.get(1).isIntegralNumber()
                || !o.get(0).canConvertToLong() || !o.get(1).canConvertToLong()) {
            throw new InputFileException(where + ": data_offsets must be two whole numbers, found " + o);
        }
        long begin = o.get(0).longValue();
        long end = o.get(1).longValue();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new InputFileException(where + ": data_offsets [" + begin + ", " + end + "] are outside the " + dataSize
                    + " data bytes of the file");
        }
        if (numel > Long.MAX_VALUE / dtype.size() || end - begin != numel * dtype.size()) {
            throw new InputFileException(where + ": shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + numel * dtype.size() + " bytes, data_offsets give " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new InputFileException("unexpected end of file at byte " + pos);
            pos += n;
        }
    }

    public Path file() {
        return file;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Entry entry(String name) throws IOException {
        Entry e = entries.get(name);
        if (e == null) throw new InputFileException(file + ": no tensor named '" + name + "'");
        return e;
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    @Override
    public int[] shape(String name) throws IOException {
        return entry(name).shape().clone();
    }

    /** The tensor's raw little-endian bytes, memory-mapped (no copy). */
    public ByteBuffer raw(String name) throws IOException {
        Entry e = entry(name);
        if (e.end() - e.begin() > Integer.MAX_VALUE) {
            throw new InputFileException(file + ": tensor '" + name + "' is larger than 2 GiB");
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin())
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public float[] floats(String name) throws IOException {
        Entry e = entry(name);
        if (!e.dtype().isFloat()) throw new InputFileException(file + ": tensor '" + name + "' is " + e.dtype() + ", not a float type");
        if (e.numel() > Integer.MAX_VALUE - 8) throw new InputFileException(file + ": tensor '" + name + "' is too large");
        // Mapped in an arena of its own and unmapped as soon as the values are copied: a MappedByteBuffer
        // stays mapped until the garbage collector finds it, so converting a model tensor by tensor
        // kept the whole file's pages in the process (4.9 GB of resident memory for sd-turbo).
        if (e.end() - e.begin() > Integer.MAX_VALUE) {
            throw new InputFileException(file + ": tensor '" + name + "' is larger than 2 GiB");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin(), arena);
            return toFloats(mapped.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN), e.dtype(), (int) e.numel());
        }
    }

    /** Widens stored values to float32 (F16 and BF16 exactly; F64 rounded). */
    public static float[] toFloats(ByteBuffer b, DType dtype, int n) {
        float[] out = new float[n];
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(b.getShort(i * 2));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16);
            }
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8);
            }
            default -> throw new IllegalArgumentException("not a float type: " + dtype);
        }
        return out;
    }

    @Override
    public String origin() {
        return file.toString();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** A tensor to write: name, dtype (F32 or F16 or BF16), shape, float values. */
    public record Tensor(String name, DType dtype, int[] shape, float[] values) {}

    /** A tensor to write whose values are produced only when its turn comes. */
    public record Spec(String name, DType dtype, int[] shape) {
        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }
    }

    /** Writes tensors held in memory (see {@link #write(Path, List, Function, Map)}). */
    public static void write(Path file, Iterable<Tensor> tensors, Map<String, String> metadata) throws IOException {
        List<Spec> specs = new java.util.ArrayList<>();
        Map<String, float[]> values = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            specs.add(new Spec(t.name(), t.dtype(), t.shape()));
            values.put(t.name(), t.values());
        }
        write(file, specs, spec -> values.get(spec.name()), metadata);
    }

    /**
     * Writes a safetensors file (header padded with spaces to 8-byte alignment, as the reference
     * implementation does), asking {@code values} for one tensor at a time, so files larger than
     * memory can be written. Values are stored in each tensor's dtype.
     */
    public static void write(Path file, List<Spec> specs, Function<Spec, float[]> values, Map<String, String> metadata)
            throws IOException {
        ObjectMapper json = new ObjectMapper();
        var header = json.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            var m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Spec t : specs) {
            var n = header.putObject(t.name());
            n.put("dtype", t.dtype().safetensorsName());
            var s = n.putArray("shape");
            for (int d : t.shape()) s.add(d);
            long bytes = t.numel() * t.dtype().size();
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] h = json.writeValueAsBytes(header);
        int padded = (h.length + 7) / 8 * 8;
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            os.write(len.array());
            os.write(h);
            for (int i = h.length; i < padded; i++) os.write(' ');
            for (Spec t : specs) {
                float[] v = values.apply(t);
                if (v.length != t.numel()) {
                    throw new IllegalArgumentException(t.name() + ": " + v.length + " values for shape " + Arrays.toString(t.shape()));
                }
                ByteBuffer b = ByteBuffer.allocate(v.length * t.dtype().size()).order(ByteOrder.LITTLE_ENDIAN);
                for (float x : v) {
                    switch (t.dtype()) {
                        case F32 -> b.putFloat(x);
                        case F16 -> b.putShort(Float.floatToFloat16(x));
                        case BF16 -> b.putShort(toBf16(x));
                        default -> throw new IllegalArgumentException("cannot write " + t.dtype());
                    }
                }
                os.write(b.array());
            }
        }
    }

    /** float32 to bfloat16 with round-to-nearest-even, as PyTorch does. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
