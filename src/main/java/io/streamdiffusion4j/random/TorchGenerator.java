package io.streamdiffusion4j.random;

import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * A bit-compatible re-implementation of PyTorch's CPU random generator for the draws the
 * pipeline makes: {@code torch.manual_seed(seed)} followed by {@code torch.randn(shape)} in
 * float32. One seed therefore gives the same initial noise, txt2img noise and re-noising as the
 * Python original (see docs/PARITY.md).
 *
 * <p>How PyTorch fills a float tensor with normals on the CPU:
 * <ul>
 *   <li>16 values or more: one 24-bit uniform {@code (bits & 0xFFFFFF) / 2^24} per value, then
 *       Box-Muller over blocks of 16 (value j and j+8 of a block are the cosine and sine of one
 *       pair); if the count is not a multiple of 16, the last 16 values are drawn again and
 *       recomputed.</li>
 *   <li>Fewer than 16 values: one double-precision Box-Muller sample per value from two 53-bit
 *       uniforms, caching the second (sine) sample for the next call.</li>
 * </ul>
 */
public final class TorchGenerator {
    private final Mt19937 engine = new Mt19937();
    private double cachedNormal;
    private boolean hasCachedNormal;

    public TorchGenerator(long seed) {
        manualSeed(seed);
    }

    /** {@code generator.manual_seed(seed)}: the engine takes the low 32 bits. */
    public void manualSeed(long seed) {
        engine.initGenrand((int) seed);
        hasCachedNormal = false;
    }

    /** {@code torch.randn(shape, generator=this)} in float32. */
    public FloatTensor randn(int... shape) {
        float[] out = new float[Math.toIntExact(FloatTensor.numel(shape))];
        fillNormal(out);
        return new FloatTensor(out, shape);
    }

    /** Fills {@code out} exactly as {@code tensor.normal_(0, 1)} does for a contiguous float tensor. */
    public void fillNormal(float[] out) {
        int size = out.length;
        if (size >= 16) {
            for (int i = 0; i < size; i++) out[i] = uniform24();
            for (int i = 0; i + 16 <= size; i += 16) boxMuller16(out, i);
            if (size % 16 != 0) {
                int start = size - 16;
                for (int i = 0; i < 16; i++) out[start + i] = uniform24();
                boxMuller16(out, start);
            }
        } else {
            for (int i = 0; i < size; i++) out[i] = (float) nextDoubleNormal();
        }
    }

    private float uniform24() {
        return (engine.next() & 0xFFFFFF) * 0x1.0p-24f;
    }

    private static void boxMuller16(float[] data, int off) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1 - data[off + j];
            float u2 = data[off + j + 8];
            float radius = (float) Math.sqrt(-2 * (float) Math.log(u1));
            float theta = (float) (2.0f * Math.PI * u2);
            data[off + j] = radius * (float) Math.cos(theta);
            data[off + j + 8] = radius * (float) Math.sin(theta);
        }
    }

    private double nextDoubleNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return cachedNormal;
        }
        double u1 = uniform53();
        double u2 = uniform53();
        double r = Math.sqrt(-2.0 * Math.log1p(-u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = r * Math.sin(theta);
        hasCachedNormal = true;
        return r * Math.cos(theta);
    }

    private double uniform53() {
        long hi = engine.nextUnsigned();
        long lo = engine.nextUnsigned();
        long bits = (hi << 32) | lo;
        return (bits & ((1L << 53) - 1)) * 0x1.0p-53;
    }
}
