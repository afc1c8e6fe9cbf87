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
 *       recomputed. On x86-64 with AVX2 (the reference fixtures' machine) torch does the
 *       Box-Muller in float32 with the Cephes polynomial log and sincos of
 *       {@code ATen/native/cpu/avx_mathfun.h}, compiled with FMA contraction; this class repeats
 *       that arithmetic step by step and is bit-identical to it. (Torch's non-vectorised
 *       fallback, {@code ATEN_CPU_CAPABILITY=default}, uses libm instead and differs in the last
 *       bits of some values.)</li>
 *   <li>Fewer than 16 values, or a tensor that is not contiguous (whatever its size): one
 *       double-precision Box-Muller sample per value from two 53-bit uniforms, caching the
 *       second (sine) sample in the generator for the next such value, rounded to float; the
 *       values are drawn in the tensor's memory order (see {@link #randnLike}).</li>
 * </ul>
 * The two paths share the engine but not the cache: a cached sine sample survives any number of
 * vectorised draws and is used by the next scalar one; {@link #manualSeed} clears it.
 */
public final class TorchGenerator {
    private final Mt19937 engine = new Mt19937();
    private double cachedNormal;
    private boolean hasCachedNormal;

    public TorchGenerator(long seed) {
        manualSeed(seed);
    }

    /** {@code generator.manual_seed(seed)} for a {@link TorchSeed}: the engine takes the low 32 bits. */
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

    /**
     * {@code torch.randn_like(x)} (float32, this generator) for an {@code x} of NCHW shape
     * {@code shape} in memory format {@code format}; the result is returned in NCHW index order.
     *
     * <p>Contiguous: the same as {@link #randn}. Channels-last: torch's {@code normal_kernel}
     * ({@code ATen/native/cpu/DistributionTemplates.h}) takes its vectorised path only for
     * {@code size >= 16 && self.is_contiguous()}; {@code randn_like} keeps the channels-last
     * strides ({@code empty_like} preserves the format), so otherwise it runs
     * {@code cpu_serial_kernel} with {@code at::normal_distribution<double>} over a
     * {@code TensorIterator}, which visits the values in increasing stride order: channel
     * fastest, then width, height and batch, i.e. NHWC memory order. Each value is one scalar
     * Box-Muller sample (the cached one first), rounded to float. A channels-last tensor with
     * one channel or a 1x1 image has contiguous strides, so torch draws it as contiguous.
     * Checked value for value against torch 1.13 ({@code TorchGeneratorChannelsLastTest}).
     */
    public FloatTensor randnLike(MemoryFormat format, int... shape) {
        if (format == MemoryFormat.CONTIGUOUS) return randn(shape);
        if (shape.length != 4) {
            throw new IllegalArgumentException("channels-last needs an NCHW shape, found rank " + shape.length);
        }
        int n = shape[0], c = shape[1], hw = Math.multiplyExact(shape[2], shape[3]);
        if (c == 1 || hw == 1) return randn(shape); // is_contiguous() holds for these strides
        float[] out = new float[Math.toIntExact(FloatTensor.numel(shape))];
        for (int b = 0; b < n; b++) {
            int base = b * c * hw;
            for (int p = 0; p < hw; p++) {
                for (int ch = 0; ch < c; ch++) out[base + ch * hw + p] = scalarNormal();
            }
        }
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
            for (int i = 0; i < size; i++) out[i] = scalarNormal();
        }
    }

    private float uniform24() {
        return (engine.next() & 0xFFFFFF) * 0x1.0p-24f;
    }

    // Constants of normal_fill_AVX2 (float32 broadcasts): 2 pi is float(2.0 * pi_double).
    private static final float TWO_PI = (float) (2.0 * Math.PI);
    private static final float MINUS_TWO = -2f;
    private static final float MEAN = 0f;
    private static final float STD = 1f;

    /**
     * torch's {@code normal_fill_16_AVX2}: Box-Muller over the 8 pairs (j, j+8) of a block of 16
     * uniforms, in float32, with the Cephes polynomials of {@code avx_mathfun.h} instead of libm.
     * Every step is done in float in the order torch's compiled kernel does it.
     */
    private static void boxMuller16(float[] data, int off) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - data[off + j]; // [0, 1) -> (0, 1] for the log
            float u2 = data[off + j + 8];
            // Plain float products (not fused): torch multiplies theta and -2*log separately.
            float radius = (float) Math.sqrt(MINUS_TWO * cephesLog(u1)); // sqrt via double is exact for float
            float theta = TWO_PI * u2;
            long sc = cephesSinCos(theta);
            float n1 = radius * cosOf(sc);
            float n2 = radius * sinOf(sc);
            // _mm256_fmadd_ps(n, std, mean): with std 1 and mean 0 this only turns -0 into +0.
            data[off + j] = Math.fma(n1, STD, MEAN);
            data[off + j + 8] = Math.fma(n2, STD, MEAN);
        }
    }

    // Cephes logf coefficients, as in avx_mathfun.h (C float constants from double literals).
    private static final float SQRTHF = (float) 0.707106781186547524;
    private static final float LOG_P0 = (float) 7.0376836292E-2;
    private static final float LOG_P1 = (float) -1.1514610310E-1;
    private static final float LOG_P2 = (float) 1.1676998740E-1;
    private static final float LOG_P3 = (float) -1.2420140846E-1;
    private static final float LOG_P4 = (float) 1.4249322787E-1;
    private static final float LOG_P5 = (float) -1.6668057665E-1;
    private static final float LOG_P6 = (float) 2.0000714765E-1;
    private static final float LOG_P7 = (float) -2.4999993993E-1;
    private static final float LOG_P8 = (float) 3.3333331174E-1;
    private static final float LOG_Q1 = (float) -2.12194440e-4;
    private static final float LOG_Q2 = (float) 0.693359375;

    /**
     * Natural log of a positive normal float, as {@code log256_ps} of avx_mathfun.h computes it
     * (x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then a degree-9 Cephes polynomial in m - 1).
     * torch's build (GCC, -mfma, default -ffp-contract=fast) contracts the Horner steps and two
     * of the final corrections into FMAs; the fusions below are the ones in its machine code and
     * were checked bit for bit against torch.randn. Inputs here are in [2^-24, 1], so the
     * zero/negative/denormal handling of the original is not needed.
     */
    private static float cephesLog(float v) {
        int bits = Float.floatToRawIntBits(v);
        float e = (float) ((bits >>> 23) - 127) + 1f;
        // Mantissa with the exponent of 0.5: m in [0.5, 1).
        float m = Float.intBitsToFloat((bits & ~0x7f800000) | 0x3f000000);
        float x;
        if (m < SQRTHF) {
            e -= 1f;
            x = (m - 1f) + m; // 2m - 1, in the original's two roundings
        } else {
            x = m - 1f;
        }
        float y = LOG_P0;
        y = Math.fma(y, x, LOG_P1); // Horner: each mul + add fused
        y = Math.fma(y, x, LOG_P2);
        y = Math.fma(y, x, LOG_P3);
        y = Math.fma(y, x, LOG_P4);
        y = Math.fma(y, x, LOG_P5);
        y = Math.fma(y, x, LOG_P6);
        y = Math.fma(y, x, LOG_P7);
        y = Math.fma(y, x, LOG_P8);
        y = y * x; // not fused
        float z = x * x;
        y = Math.fma(y, z, e * LOG_Q1); // y*z + e*q1: the y*z product is fused, e*q1 is rounded
        y = Math.fma(-z, 0.5f, y); // y - z/2 (z/2 is exact, so fusing changes nothing here)
        x = x + y;
        return Math.fma(e, LOG_Q2, x); // x + e*q2, fused
    }

    // Cephes sinf/cosf constants, as in avx_mathfun.h.
    private static final float FOPI = (float) 1.27323954473516; // 4 / pi
    private static final float MINUS_DP1 = (float) -0.78515625;
    private static final float MINUS_DP2 = (float) -2.4187564849853515625e-4;
    private static final float MINUS_DP3 = (float) -3.77489497744594108e-8;
    private static final float SIN_P0 = (float) -1.9515295891E-4;
    private static final float SIN_P1 = (float) 8.3321608736E-3;
    private static final float SIN_P2 = (float) -1.6666654611E-1;
    private static final float COS_P0 = (float) 2.443315711809948E-005;
    private static final float COS_P1 = (float) -1.388731625493765E-003;
    private static final float COS_P2 = (float) 4.166664568298827E-002;

    /**
     * Sine and cosine of {@code x} as {@code sincos256_ps} of avx_mathfun.h computes them: reduce
     * by multiples of pi/4 with the three-part Cephes pi/4 ("extended precision modular
     * arithmetic"), evaluate both the sine and the cosine polynomial on the reduced argument, and
     * pick and sign them by octant. The fusions are those of torch's compiled kernel. Both results
     * are packed in one long (sine in the high 32 bits) to avoid an allocation per call.
     */
    private static long cephesSinCos(float x) {
        int signSin = Float.floatToRawIntBits(x) & 0x80000000;
        x = Math.abs(x);
        // Octant j, rounded up to even (cvttps truncates like a Java int cast).
        int j = (int) (x * FOPI);
        j = (j + 1) & ~1;
        float y = j;
        signSin ^= (j & 4) << 29;
        int signCos = (~(j - 2) & 4) << 29;
        boolean sinUsesSinPoly = (j & 2) == 0;

        // x - y*pi/4 in three parts; GCC fuses each of the three steps.
        x = Math.fma(y, MINUS_DP1, x);
        x = Math.fma(y, MINUS_DP2, x);
        x = Math.fma(y, MINUS_DP3, x);

        float z = x * x;
        // Cosine polynomial: 1 - z/2 + z^2 (c2 + z (c1 + z c0)).
        float yc = Math.fma(COS_P0, z, COS_P1);
        yc = Math.fma(yc, z, COS_P2);
        yc = yc * z; // not fused
        yc = Math.fma(yc, z, -(z * 0.5f)); // yc*z - z/2, fused
        yc = yc + 1f;
        // Sine polynomial: x + x z (s2 + z (s1 + z s0)).
        float ys = Math.fma(SIN_P0, z, SIN_P1);
        ys = Math.fma(ys, z, SIN_P2);
        ys = ys * z; // not fused
        ys = Math.fma(ys, x, x); // ys*x + x, fused

        float sin = sinUsesSinPoly ? ys : yc;
        float cos = sinUsesSinPoly ? yc : ys;
        // (The original blends with masks and adds, which can only turn a -0 into +0; the final
        // fmadd with mean 0 does that anyway.)
        int sinBits = Float.floatToRawIntBits(sin) ^ signSin;
        int cosBits = Float.floatToRawIntBits(cos) ^ signCos;
        return ((long) sinBits << 32) | (cosBits & 0xFFFFFFFFL);
    }

    private static float sinOf(long sinCos) {
        return Float.intBitsToFloat((int) (sinCos >>> 32));
    }

    private static float cosOf(long sinCos) {
        return Float.intBitsToFloat((int) sinCos);
    }

    /**
     * One value of torch's scalar path: {@code static_cast<float>(normal(generator))} with
     * {@code at::normal_distribution<double>(0, 1)}, whose {@code x * std + mean} only turns a
     * -0 into +0.
     */
    private float scalarNormal() {
        return (float) (nextDoubleNormal() * 1.0 + 0.0);
    }

    /**
     * {@code at::normal_distribution<double>}: the cached sine sample if there is one, else
     * Box-Muller from two {@code uniform_real_distribution<double>} draws (u1 for the angle, u2
     * for the radius), caching the sine sample.
     */
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

    /** {@code random64()} (two engine outputs, the first high) masked to 53 bits, times 2^-53. */
    private double uniform53() {
        long hi = engine.nextUnsigned();
        long lo = engine.nextUnsigned();
        long bits = (hi << 32) | lo;
        return (bits & ((1L << 53) - 1)) * 0x1.0p-53;
    }
}
