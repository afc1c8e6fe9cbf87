package io.streamdiffusion4j.random;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/** Bit-exact comparison of float draws against values measured from torch, shared by the generator tests. */
final class FloatBits {
    private FloatBits() {}

    static void assertBitExact(float[] actual, float... expected) {
        assertThat(bits(actual)).containsExactly(bits(expected));
    }

    static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) out[i] = Float.floatToIntBits(values[i]);
        return out;
    }

    /** CRC-32 of the values as little-endian float32, as numpy's {@code zlib.crc32(a.astype('<f4').tobytes())}. */
    static long crc32(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }
}
