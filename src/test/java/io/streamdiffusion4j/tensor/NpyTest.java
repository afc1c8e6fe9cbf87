package io.streamdiffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NumPy's .npy format as NumPy writes it: both header versions, the element types the tools use, and the errors. */
class NpyTest {
    @TempDir
    Path dir;

    /** A .npy file as numpy.save writes it: magic, version, header length, header, data. */
    private Path npy(String name, int major, String header, byte[] data) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        byte[] h = (header + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer len = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) len.putShort((short) h.length);
        else len.putInt(h.length);
        out.write(len.array());
        out.write(h);
        out.write(data);
        Path p = dir.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static byte[] littleEndian(int itemSize, double... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * itemSize).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            switch (itemSize) {
                case 4 -> b.putFloat((float) v);
                case 8 -> b.putDouble(v);
                default -> throw new IllegalArgumentException();
            }
        }
        return b.array();
    }

    private static byte[] longs(int itemSize, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * itemSize).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            if (itemSize == 8) b.putLong(v);
            else b.putInt((int) v);
        }
        return b.array();
    }

    @Test
    void writtenFloatsReadBackWithTheirShape() throws Exception {
        Path p = dir.resolve("a.npy");
        float[] values = {1.5f, -2f, 3.25f, 0f, Float.MIN_VALUE, -0f};
        Npy.writeFloats(p, values, 2, 3);
        FloatTensor t = Npy.readFloats(p);
        assertThat(t.shape()).containsExactly(2, 3);
        assertThat(t.data()).containsExactly(values);
    }

    @Test
    void writtenHeaderIsNumpysAndPaddedToSixtyFourBytes() throws Exception {
        Path p = dir.resolve("a.npy");
        Npy.writeFloats(p, new float[] {1, 2, 3}, 3);
        byte[] bytes = Files.readAllBytes(p);
        int headerLength = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
        assertThat(bytes[6]).as("version 1.0").isEqualTo((byte) 1);
        assertThat(bytes[7]).isZero();
        assertThat((10 + headerLength) % 64).as("data starts on a 64-byte boundary").isZero();
        assertThat(bytes.length).isEqualTo(10 + headerLength + 3 * 4);
        String header = new String(bytes, 10, headerLength, StandardCharsets.ISO_8859_1);
        assertThat(header).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }").endsWith(" \n");
        assertThat(header.strip()).as("only spaces pad the header").endsWith("}");

        Npy.writeFloats(p, new float[24], 2, 3, 4);
        bytes = Files.readAllBytes(p);
        header = new String(bytes, 10, (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8, StandardCharsets.ISO_8859_1);
        assertThat(header).contains("'shape': (2, 3, 4), }");
    }

    @Test
    void writeRejectsAShapeThatDoesNotMatch() {
        assertThatThrownBy(() -> Npy.writeFloats(dir.resolve("a.npy"), new float[5], 2, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5 values");
        assertThat(dir.resolve("a.npy")).doesNotExist();
    }

    @Test
    void readsFloat64AsFloat32AndVersionTwoHeaders() throws Exception {
        Path p = npy("d.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                littleEndian(8, 0.1, -1e10, 3, 4));
        FloatTensor t = Npy.readFloats(p);
        assertThat(t.shape()).containsExactly(2, 2);
        assertThat(t.data()).containsExactly(0.1f, -1e10f, 3f, 4f);
        Npy.Array raw = Npy.read(p);
        assertThat(raw.kind()).isEqualTo('f');
        assertThat(raw.itemSize()).isEqualTo(8);
        assertThat(raw.numel()).isEqualTo(4);
    }

    @Test
    void aScalarReadsAsOneValue() throws Exception {
        Path p = npy("s.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", littleEndian(4, 7));
        FloatTensor t = Npy.readFloats(p);
        assertThat(t.shape()).containsExactly(1);
        assertThat(t.data()).containsExactly(7f);
    }

    @Test
    void readsInt64AndInt32AsLongs() throws Exception {
        Path p64 = npy("l.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                longs(8, 999, -1, 1L << 40));
        assertThat(Npy.readLongs(p64)).containsExactly(999, -1, 1L << 40);
        Path p32 = npy("i.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", longs(4, 359, -7, 99));
        assertThat(Npy.readLongs(p32)).containsExactly(359, -7, 99);
    }

    @Test
    void otherElementTypesAreErrorsThatNameThem() throws Exception {
        Path ints = npy("i.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", longs(8, 1));
        assertThatThrownBy(() -> Npy.readFloats(ints)).hasMessageContaining("expected a float array, found i8");
        Path halfs = npy("h.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", new byte[2]);
        assertThatThrownBy(() -> Npy.readFloats(halfs)).hasMessageContaining("found f2");
        Path floats = npy("f.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", littleEndian(4, 1));
        assertThatThrownBy(() -> Npy.readLongs(floats)).hasMessageContaining("expected an integer array, found f4");
        Path shorts = npy("s.npy", 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }", new byte[2]);
        assertThatThrownBy(() -> Npy.readLongs(shorts)).hasMessageContaining("found i2");
    }

    @Test
    void unsupportedLayoutsAndBrokenFilesAreErrorsThatNameTheFile() throws Exception {
        Path fortran = npy("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                littleEndian(4, 1));
        assertThatThrownBy(() -> Npy.read(fortran)).hasMessageContaining("fortran.npy").hasMessageContaining("Fortran");
        Path big = npy("big.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
        assertThatThrownBy(() -> Npy.read(big)).hasMessageContaining("big-endian");
        Path truncated = npy("short.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                littleEndian(4, 1, 2, 3));
        assertThatThrownBy(() -> Npy.read(truncated)).hasMessageContaining("short.npy: truncated data");
        Path noShape = npy("noshape.npy", 1, "{'descr': '<f4', 'fortran_order': False}", littleEndian(4, 1));
        assertThatThrownBy(() -> Npy.read(noShape)).hasMessageContaining("cannot parse the .npy header");
        Path noOrder = npy("noorder.npy", 1, "{'descr': '<f4', 'shape': (1,), }", littleEndian(4, 1));
        assertThatThrownBy(() -> Npy.read(noOrder)).hasMessageContaining("cannot parse");
        Path noDescr = npy("nodescr.npy", 1, "{'fortran_order': False, 'shape': (1,), }", littleEndian(4, 1));
        assertThatThrownBy(() -> Npy.read(noDescr)).hasMessageContaining("cannot parse");
        Path notNpy = dir.resolve("x.npy");
        Files.write(notNpy, "\u0093NUMPX..........".getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Npy.read(notNpy)).hasMessageContaining("x.npy: not a .npy file");
    }

    @Test
    void exactlyEnoughDataIsNotTruncated() throws Exception {
        Path p = npy("e.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", littleEndian(4, 1, 2));
        assertThat(Npy.readFloats(p).data()).containsExactly(1f, 2f);
    }
}
