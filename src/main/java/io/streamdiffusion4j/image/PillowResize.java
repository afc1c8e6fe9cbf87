package io.streamdiffusion4j.image;

import java.util.Objects;

/**
 * Resizes 8-bit RGB images so that the result is byte-for-byte what Pillow 9.4's
 * {@code Image.resize((width, height), resample=filter)} gives for an {@code "RGB"} image.
 *
 * <p>Why bit-exact: the reference StreamDiffusion pipeline prepares its input frames with Pillow, and
 * the diffusion loop amplifies small input differences, so "close enough" resampling makes it
 * impossible to compare our outputs with the reference ones. This is an independent re-implementation
 * of the algorithm Pillow uses (convolution resampling in {@code libImaging/Resample.c}, nearest
 * neighbour through the affine-scale path in {@code libImaging/Geometry.c}); every floating point
 * step is done in the same order and precision as there, because the fixed point rounding that
 * follows turns even a last-bit difference in a weight into a different output byte now and then.
 *
 * <p>Only the whole-image case is covered (no {@code box}, no {@code reducing_gap}), which is what
 * {@code Image.resize(size, filter)} does.
 */
public final class PillowResize {

    /** Pillow's resampling filters, with the same meaning as {@code PIL.Image.Resampling}. */
    public enum Filter {
        /** Nearest neighbour: picks the source pixel under each output pixel centre. */
        NEAREST(0.0),
        /** Box: every source pixel overlapping the output pixel weighs the same. */
        BOX(0.5),
        /** Triangle (tent) filter. */
        BILINEAR(1.0),
        /** Hamming-windowed sinc, one lobe. */
        HAMMING(1.0),
        /** Keys cubic convolution with a = -0.5. */
        BICUBIC(2.0),
        /** Lanczos-windowed sinc with three lobes. */
        LANCZOS(3.0);

        /** Half-width of the kernel in source pixels when not downscaling. */
        private final double support;

        Filter(double support) {
            this.support = support;
        }
    }

    /**
     * Weights are turned into integers with this many fractional bits. Pillow does the inner
     * multiply-add in 32-bit ints: 8 bits are needed for the pixel value and 2 more for headroom,
     * because kernels with negative lobes can make partial sums dip below zero or exceed 1.0.
     * Integer arithmetic is also what makes the result independent of summation order, so it is
     * what we must copy to be exact.
     */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Adding one half before the final shift rounds the fixed point sum to nearest. */
    private static final int HALF = 1 << (PRECISION_BITS - 1);

    private PillowResize() {
    }

    /**
     * Returns a new image of {@code width x height} resampled from {@code src} exactly as Pillow 9.4
     * would. The source is never modified; the result never shares its pixel array with it.
     */
    public static RgbImage resize(RgbImage src, int width, int height, Filter filter) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(filter, "filter");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size must be positive, found " + width + "x" + height);
        }
        // Image.resize short-circuits to copy() before looking at the filter at all.
        if (width == src.width() && height == src.height()) {
            return new RgbImage(width, height, src.rgb().clone());
        }
        if (filter == Filter.NEAREST) {
            return nearest(src, width, height);
        }
        return convolve(src, width, height, filter);
    }

    // ------------------------------------------------------------------------------------------
    // NEAREST: Pillow does not run the convolution code for it. _imaging.c's resize builds the
    // affine matrix [inW/outW, 0, 0; 0, inH/outH, 0] and ImagingTransform sends a pure scale to
    // ImagingScaleAffine, which walks the source coordinate by repeated addition.

    private static RgbImage nearest(RgbImage src, int outW, int outH) {
        int inW = src.width();
        int inH = src.height();
        byte[] in = src.rgb();
        byte[] out = new byte[outW * outH * 3]; // Pillow fills uncovered pixels with zero.

        double stepX = (double) inW / outW;
        double stepY = (double) inH / outH;

        // Source column for each output column. The position is advanced by adding the step, not by
        // multiplying: the accumulated rounding error is part of the result, so we keep it (with odd
        // ratios such as 64 -> 63 the exact position lands on an integer, which the sum misses by
        // an ulp and so picks the pixel before; multiplying would pick a different one). Columns
        // outside [firstX, endX) keep their zero fill; inside it, a column that fell off the source
        // would read column 0 (the table starts zeroed), a quirk that cannot trigger for a positive
        // scale but is kept for fidelity.
        int[] srcX = new int[outW];
        int firstX = outW;
        int endX = 0;
        double xo = stepX * 0.5;
        for (int x = 0; x < outW; x++) {
            int xi = coord(xo);
            if (xi >= 0 && xi < inW) {
                endX = x + 1;
                if (x < firstX) {
                    firstX = x;
                }
                srcX[x] = xi;
            }
            xo += stepX;
        }

        double yo = stepY * 0.5;
        for (int y = 0; y < outH; y++) {
            int yi = coord(yo);
            if (yi >= 0 && yi < inH) {
                int inRow = yi * inW * 3;
                int outRow = y * outW * 3;
                for (int x = firstX; x < endX; x++) {
                    int s = inRow + srcX[x] * 3;
                    int d = outRow + x * 3;
                    out[d] = in[s];
                    out[d + 1] = in[s + 1];
                    out[d + 2] = in[s + 2];
                }
            }
            yo += stepY;
        }
        return new RgbImage(outW, outH, out);
    }

    /** Pillow's COORD macro: truncation towards zero, but anything negative is "outside" (-1). */
    private static int coord(double v) {
        return v < 0.0 ? -1 : (int) v;
    }

    // ------------------------------------------------------------------------------------------
    // Convolution filters: separable, horizontal pass first, then vertical, each pass skipped when
    // its dimension does not change (so a width-only resize never touches rows and vice versa).

    private static RgbImage convolve(RgbImage src, int outW, int outH, Filter filter) {
        int inW = src.width();
        int inH = src.height();
        boolean horizontal = outW != inW;
        boolean vertical = outH != inH;

        // Vertical weights first, as Pillow does: they tell which source rows are needed at all,
        // so the horizontal pass can skip rows that no output row reads.
        Kernel vert = Kernel.compute(inH, outH, filter);
        int firstRow = vert.start[0];
        int endRow = vert.start[outH - 1] + vert.count[outH - 1];

        byte[] pixels = src.rgb();
        int w = inW;
        if (horizontal) {
            pixels = horizontalPass(pixels, inW, firstRow, endRow, Kernel.compute(inW, outW, filter));
            w = outW;
            // The intermediate image only holds rows firstRow..endRow-1.
            for (int i = 0; i < outH; i++) {
                vert.start[i] -= firstRow;
            }
        }
        if (vertical) {
            pixels = verticalPass(pixels, w, outH, vert);
        }
        // One of the passes always ran (equal sizes were copied earlier), so pixels is a new array.
        return new RgbImage(outW, outH, pixels);
    }

    private static byte[] horizontalPass(byte[] in, int inW, int firstRow, int endRow, Kernel k) {
        int outW = k.start.length;
        int rows = endRow - firstRow;
        byte[] out = new byte[outW * rows * 3];
        int[] weights = k.weights;
        int stride = k.stride;
        for (int y = 0; y < rows; y++) {
            int inRow = (y + firstRow) * inW * 3;
            int outPos = y * outW * 3;
            for (int x = 0; x < outW; x++) {
                int base = x * stride;
                int n = k.count[x];
                int s = inRow + k.start[x] * 3;
                int r = HALF;
                int g = HALF;
                int b = HALF;
                for (int i = 0; i < n; i++, s += 3) {
                    int wt = weights[base + i];
                    r += (in[s] & 0xff) * wt;
                    g += (in[s + 1] & 0xff) * wt;
                    b += (in[s + 2] & 0xff) * wt;
                }
                out[outPos++] = clip8(r);
                out[outPos++] = clip8(g);
                out[outPos++] = clip8(b);
            }
        }
        return out;
    }

    private static byte[] verticalPass(byte[] in, int width, int outH, Kernel k) {
        byte[] out = new byte[width * outH * 3];
        int[] weights = k.weights;
        int rowBytes = width * 3;
        for (int y = 0; y < outH; y++) {
            int base = y * k.stride;
            int n = k.count[y];
            int top = k.start[y] * rowBytes;
            int outPos = y * rowBytes;
            for (int c = 0; c < rowBytes; c++) {
                int acc = HALF;
                int s = top + c;
                for (int i = 0; i < n; i++, s += rowBytes) {
                    acc += (in[s] & 0xff) * weights[base + i];
                }
                out[outPos + c] = clip8(acc);
            }
        }
        return out;
    }

    /**
     * Drops the fractional bits (arithmetic shift, i.e. floor, which together with {@link #HALF}
     * rounds to nearest) and saturates to a byte, as Pillow's lookup table does. Negative lobes can
     * overshoot either way, which is why clipping happens after each pass, not only at the end.
     */
    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /**
     * Per-output-pixel weights for one axis: output pixel {@code i} reads {@code count[i]} source
     * pixels starting at {@code start[i]}, with fixed point weights at
     * {@code weights[i * stride ..]}.
     */
    private static final class Kernel {
        final int[] start;
        final int[] count;
        final int[] weights;
        final int stride;

        private Kernel(int[] start, int[] count, int[] weights, int stride) {
            this.start = start;
            this.count = count;
            this.weights = weights;
            this.stride = stride;
        }

        static Kernel compute(int inSize, int outSize, Filter filter) {
            // Pillow's box coordinates are C floats; for a whole-image resize in1 - in0 is just
            // inSize, exactly representable for any size that fits in memory.
            double scale = (double) inSize / outSize;
            // When downscaling, the kernel is stretched to cover the whole footprint of an output
            // pixel (that is what makes it anti-aliasing); when upscaling it keeps its natural size.
            double filterScale = Math.max(scale, 1.0);
            double support = filter.support * filterScale;
            int stride = (int) Math.ceil(support) * 2 + 1;
            double inverseScale = 1.0 / filterScale;

            int[] start = new int[outSize];
            int[] count = new int[outSize];
            int[] weights = new int[outSize * stride];
            double[] w = new double[stride];

            for (int i = 0; i < outSize; i++) {
                // Centre of output pixel i in source coordinates (pixel centres sit at +0.5).
                double center = (i + 0.5) * scale;
                // "+ 0.5 then cast" is Pillow's rounding; the cast truncates towards zero, which
                // only differs from floor for negative values, and those are clamped to 0 anyway.
                int lo = (int) (center - support + 0.5);
                if (lo < 0) {
                    lo = 0;
                }
                int hi = (int) (center + support + 0.5);
                if (hi > inSize) {
                    hi = inSize;
                }
                int n = hi - lo;

                double sum = 0.0;
                for (int j = 0; j < n; j++) {
                    // Same operation order as Pillow: (int index - center + 0.5) * 1/filterScale.
                    double v = kernel(filter, ((j + lo) - center + 0.5) * inverseScale);
                    w[j] = v;
                    sum += v;
                }
                // Normalising makes the weights sum to 1 even where the kernel is cut off at the
                // image edge, so borders do not darken or brighten.
                int base = i * stride;
                for (int j = 0; j < n; j++) {
                    double v = sum != 0.0 ? w[j] / sum : w[j];
                    // Round half away from zero, with a truncating cast, as Pillow does.
                    weights[base + j] = v < 0
                            ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                            : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                start[i] = lo;
                count[i] = n;
            }
            return new Kernel(start, count, weights, stride);
        }
    }

    /** The continuous filter kernels, written exactly as Pillow evaluates them. */
    private static double kernel(Filter filter, double x) {
        return switch (filter) {
            // Half-open so that a sample exactly between two pixels is counted once.
            case BOX -> x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
            case BILINEAR -> {
                double ax = Math.abs(x);
                yield ax < 1.0 ? 1.0 - ax : 0.0;
            }
            case HAMMING -> {
                double ax = Math.abs(x);
                if (ax == 0.0) {
                    yield 1.0;
                }
                if (ax >= 1.0) {
                    yield 0.0;
                }
                double px = ax * Math.PI;
                // Pillow writes the window constants as C floats (0.54f, 0.46f) that get widened to
                // double, so their float rounding error is part of the reference result.
                yield Math.sin(px) / px * ((double) 0.54f + (double) 0.46f * Math.cos(px));
            }
            case BICUBIC -> {
                final double a = -0.5;
                double ax = Math.abs(x);
                if (ax < 1.0) {
                    yield ((a + 2.0) * ax - (a + 3.0)) * ax * ax + 1;
                }
                if (ax < 2.0) {
                    yield (((ax - 5) * ax + 8) * ax - 4) * a;
                }
                yield 0.0;
            }
            // Pillow's window is asymmetric at the edge: -3 is inside, +3 is not.
            case LANCZOS -> -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
            case NEAREST -> throw new IllegalArgumentException("NEAREST is not a convolution filter");
        };
    }

    private static double sinc(double x) {
        if (x == 0.0) {
            return 1.0;
        }
        double px = x * Math.PI;
        // Math rather than StrictMath: on x86-64 HotSpot, Math.sin/cos agree with glibc (what Pillow
        // calls) in the last bit far more often than fdlibm's StrictMath does (about 0.2% vs 3% of
        // arguments differ). Either way a one-ulp difference almost never survives the rounding of
        // the weight to 22 fractional bits, but the closer the better.
        return Math.sin(px) / px;
    }
}
