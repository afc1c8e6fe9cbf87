package io.streamdiffusion4j.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor in row-major (C) order: the one value type that flows between the
 * pipeline stages. The first dimension is the batch ("rows"); the pipeline's stream-batch
 * arithmetic works row by row, so row helpers live here.
 *
 * <p>Deliberately small: the data array is exposed for hot loops, shapes are checked once.
 */
public final class FloatTensor {
    private final float[] data;
    private final int[] shape;

    public FloatTensor(float[] data, int... shape) {
        long n = numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
        this.data = data;
        this.shape = shape.clone();
    }

    public static FloatTensor zeros(int... shape) {
        return new FloatTensor(new float[Math.toIntExact(numel(shape))], shape);
    }

    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    public float[] data() {
        return data;
    }

    public int[] shape() {
        return shape.clone();
    }

    /** Whether this tensor has exactly {@code s} as its shape (without copying the shape). */
    public boolean hasShape(int[] s) {
        return Arrays.equals(shape, s);
    }

    public int dim(int i) {
        return shape[i];
    }

    public int rank() {
        return shape.length;
    }

    public long[] shapeAsLongs() {
        long[] s = new long[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = shape[i];
        return s;
    }

    public int size() {
        return data.length;
    }

    /** Number of rows (the first dimension). */
    public int rows() {
        return shape[0];
    }

    /** Number of values in one row. */
    public int rowSize() {
        return shape[0] == 0 ? 0 : data.length / shape[0];
    }

    /** The shape of {@code count} rows of this tensor. */
    public int[] shapeWithRows(int count) {
        int[] s = shape.clone();
        s[0] = count;
        return s;
    }

    /** Copy of rows [from, to). */
    public FloatTensor rows(int from, int to) {
        if (from < 0 || to > rows() || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + rows());
        }
        int rs = rowSize();
        return new FloatTensor(Arrays.copyOfRange(data, from * rs, to * rs), shapeWithRows(to - from));
    }

    /** Concatenation along the first dimension. */
    public static FloatTensor concatRows(FloatTensor... parts) {
        int rows = 0;
        int rs = -1;
        int[] template = null;
        for (FloatTensor p : parts) {
            if (template == null) {
                template = p.shape;
                rs = p.rowSize();
            } else if (p.rank() != template.length
                    || !Arrays.equals(p.shape, 1, p.rank(), template, 1, template.length)) {
                throw new IllegalArgumentException("cannot concatenate " + Arrays.toString(p.shape)
                        + " with " + Arrays.toString(template));
            }
            rows += p.rows();
        }
        if (template == null) throw new IllegalArgumentException("nothing to concatenate");
        float[] out = new float[rows * rs];
        int off = 0;
        for (FloatTensor p : parts) {
            System.arraycopy(p.data, 0, out, off, p.data.length);
            off += p.data.length;
        }
        int[] s = template.clone();
        s[0] = rows;
        return new FloatTensor(out, s);
    }

    /** The same row repeated {@code times} times ({@code tensor.repeat(times, 1, ...)} of a 1-row tensor). */
    public FloatTensor repeatRows(int times) {
        float[] out = new float[data.length * times];
        for (int i = 0; i < times; i++) System.arraycopy(data, 0, out, i * data.length, data.length);
        int[] s = shape.clone();
        s[0] = shape[0] * times;
        return new FloatTensor(out, s);
    }

    public FloatTensor copy() {
        return new FloatTensor(data.clone(), shape);
    }

    public FloatTensor reshape(int... newShape) {
        return new FloatTensor(data, newShape);
    }

    @Override
    public String toString() {
        return "FloatTensor" + Arrays.toString(shape);
    }
}
