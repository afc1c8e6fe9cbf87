package io.streamdiffusion4j.tensor;

import io.streamdiffusion4j.files.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} format (version 1.0/2.0, C order), for the tensors the original's
 * tooling reads and writes: float32 and float64 read as floats, int64/int32 as longs.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=]?)([a-z])(\\d+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** The raw content of a .npy file: element kind, size, shape and little-endian data. */
    public record Array(char kind, int itemSize, int[] shape, ByteBuffer data) {
        public int numel() {
            return Math.toIntExact(FloatTensor.numel(shape));
        }
    }

    private Npy() {}

    public static Array read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        for (byte m : MAGIC) {
            if (b.get() != m) throw new IOException(file + ": not a .npy file");
        }
        int major = b.get();
        b.get();
        int headerLen = major == 1 ? Short.toUnsignedInt(b.getShort()) : b.getInt();
        byte[] header = new byte[headerLen];
        b.get(header);
        String h = new String(header, StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(h);
        Matcher f = FORTRAN.matcher(h);
        Matcher s = SHAPE.matcher(h);
        if (!d.find() || !f.find() || !s.find()) throw new IOException(file + ": cannot parse the .npy header " + h);
        if (f.group(1).equals("True")) throw new IOException(file + ": Fortran-order arrays are not supported");
        if (d.group(1).equals(">")) throw new IOException(file + ": big-endian arrays are not supported");
        List<Integer> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            if (!part.isBlank()) dims.add(Integer.parseInt(part.strip()));
        }
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        Array a = new Array(d.group(2).charAt(0), Integer.parseInt(d.group(3)), shape,
                b.slice().order(ByteOrder.LITTLE_ENDIAN));
        if (a.data().remaining() < (long) a.numel() * a.itemSize()) throw new IOException(file + ": truncated data");
        return a;
    }

    /** Reads a float array (float32 or float64) as a float32 tensor. */
    public static FloatTensor readFloats(Path file) throws IOException {
        Array a = read(file);
        float[] out = new float[a.numel()];
        if (a.kind() == 'f' && a.itemSize() == 4) {
            a.data().asFloatBuffer().get(out);
        } else if (a.kind() == 'f' && a.itemSize() == 8) {
            for (int i = 0; i < out.length; i++) out[i] = (float) a.data().getDouble(i * 8);
        } else {
            throw new IOException(file + ": expected a float array, found " + a.kind() + a.itemSize());
        }
        int[] shape = a.shape().length == 0 ? new int[] {1} : a.shape();
        return new FloatTensor(out, shape);
    }

    /** Reads an integer array (int32 or int64) as longs. */
    public static long[] readLongs(Path file) throws IOException {
        Array a = read(file);
        long[] out = new long[a.numel()];
        if (a.kind() == 'i' && a.itemSize() == 8) {
            a.data().asLongBuffer().get(out);
        } else if (a.kind() == 'i' && a.itemSize() == 4) {
            for (int i = 0; i < out.length; i++) out[i] = a.data().getInt(i * 4);
        } else {
            throw new IOException(file + ": expected an integer array, found " + a.kind() + a.itemSize());
        }
        return out;
    }

    /** Writes a float32 array ({@code <f4}, C order). */
    public static void writeFloats(Path file, float[] data, int... shape) throws IOException {
        if (FloatTensor.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape does not match " + data.length + " values");
        }
        StringBuilder dims = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            dims.append(shape[i]);
            if (shape.length == 1 || i < shape.length - 1) dims.append(shape.length == 1 ? "," : ", ");
        }
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
        int total = MAGIC.length + 4 + header.length() + 1;
        int padding = (64 - total % 64) % 64;
        StringBuilder h = new StringBuilder(header);
        h.append(" ".repeat(padding)).append('\n');
        ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 4 + h.length() + data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) h.length());
        out.put(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        for (float v : data) out.putFloat(v);
        AtomicFiles.write(file, out.array()); // never a truncated .npy under its name (a full disk)
    }
}
