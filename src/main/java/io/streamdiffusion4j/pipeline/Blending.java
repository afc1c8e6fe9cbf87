package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;

/**
 * The arithmetic of prompt and seed blending, on plain tensors. Sums are taken in double and
 * rounded to float once per value.
 *
 * <ul>
 *   <li>Linear: {@code sum_i w_i e_i} with the weights normalized to sum 1.</li>
 *   <li>Slerp of two embeddings a, b at t: per token vector (the last axis), with
 *       {@code cos W = a.b / (|a| |b|)}, {@code sin((1-t) W)/sin W a + sin(t W)/sin W b}; where
 *       the vectors are nearly parallel ({@code |cos W| > 0.9995}) or one is zero, the linear
 *       {@code (1-t) a + t b} (the usual guard, as the livepeer fork's). More than two: applied
 *       in list order with cumulative weights, {@code r_1 = e_1}, {@code r_i = slerp(r_{i-1}, e_i,
 *       w_i / (w_1 + ... + w_i))}; for linear interpolation that order-independent recursion is
 *       exactly the normalized weighted sum, and for slerp it reduces to the two-prompt case.</li>
 *   <li>Noise: {@code sum_i w_i n_i / sqrt(sum_i w_i^2)}. The n_i are independent standard normal
 *       draws, so the sum has variance {@code sum w_i^2}; dividing by its square root keeps the
 *       blend standard normal, which the scheduler's noise terms assume (a plain weighted mean
 *       of two equal seeds would have variance 1/2 and wash the picture out).</li>
 * </ul>
 */
public final class Blending {
    /** Above this |cos| the two vectors are treated as parallel and interpolated linearly. */
    static final double PARALLEL = 0.9995;

    private Blending() {}

    /** Weights scaled to sum 1. */
    public static double[] normalized(double[] weights) {
        double sum = 0;
        for (double w : weights) sum += w;
        double[] out = new double[weights.length];
        for (int i = 0; i < out.length; i++) out[i] = weights[i] / sum;
        return out;
    }

    /**
     * Blends embeddings of one shape (e.g. (1, 77, hidden)); token vectors run along the last axis.
     * One embedding is returned as it is (the single-prompt path).
     */
    public static FloatTensor embeddings(List<FloatTensor> embeddings, double[] weights, Interpolation interpolation) {
        if (embeddings.size() != weights.length || embeddings.isEmpty()) {
            throw new IllegalArgumentException(embeddings.size() + " embeddings for " + weights.length + " weights");
        }
        FloatTensor first = embeddings.getFirst();
        for (FloatTensor e : embeddings) {
            if (!e.hasShape(first.shape())) throw new IllegalArgumentException("embeddings differ in shape: " + first + ", " + e);
        }
        if (embeddings.size() == 1) return first;
        int n = first.size();
        double[] w = normalized(weights);
        double[] r = new double[n];
        if (interpolation == Interpolation.LINEAR) {
            for (int j = 0; j < w.length; j++) {
                float[] e = embeddings.get(j).data();
                for (int i = 0; i < n; i++) r[i] += w[j] * e[i];
            }
        } else {
            int dim = first.dim(first.rank() - 1);
            float[] e0 = first.data();
            for (int i = 0; i < n; i++) r[i] = e0[i];
            double cumulative = w[0];
            for (int j = 1; j < w.length; j++) {
                cumulative += w[j];
                slerpInPlace(r, toDouble(embeddings.get(j).data()), w[j] / cumulative, dim);
            }
        }
        return new FloatTensor(toFloat(r), first.shape());
    }

    /** The embedding a fraction {@code t} of the way from {@code from} to {@code to} (a prompt transition). */
    public static FloatTensor between(FloatTensor from, FloatTensor to, double t, Interpolation interpolation) {
        if (!from.hasShape(to.shape())) throw new IllegalArgumentException("embeddings differ in shape: " + from + ", " + to);
        double[] r = toDouble(from.data());
        if (interpolation == Interpolation.LINEAR) {
            float[] b = to.data();
            for (int i = 0; i < r.length; i++) r[i] = (1 - t) * r[i] + t * b[i];
        } else {
            slerpInPlace(r, toDouble(to.data()), t, from.dim(from.rank() - 1));
        }
        return new FloatTensor(toFloat(r), from.shape());
    }

    /** Spherical interpolation of every {@code dim}-long vector of {@code a} towards {@code b}, into {@code a}. */
    static void slerpInPlace(double[] a, double[] b, double t, int dim) {
        for (int off = 0; off < a.length; off += dim) {
            double dot = 0, na = 0, nb = 0;
            for (int i = off; i < off + dim; i++) {
                dot += a[i] * b[i];
                na += a[i] * a[i];
                nb += b[i] * b[i];
            }
            double cos = na == 0 || nb == 0 ? 1 : dot / Math.sqrt(na * nb);
            double ca, cb;
            if (Math.abs(cos) > PARALLEL) {
                ca = 1 - t;
                cb = t;
            } else {
                double omega = Math.acos(cos);
                double sin = Math.sin(omega);
                ca = Math.sin((1 - t) * omega) / sin;
                cb = Math.sin(t * omega) / sin;
            }
            for (int i = off; i < off + dim; i++) a[i] = ca * a[i] + cb * b[i];
        }
    }

    /**
     * Blended noise {@code sum w_i n_i / sqrt(sum w_i^2)} of independent draws (see the class
     * comment). One draw is returned as it is (the single-seed path).
     */
    public static FloatTensor noise(List<FloatTensor> draws, double[] weights) {
        if (draws.size() != weights.length || draws.isEmpty()) {
            throw new IllegalArgumentException(draws.size() + " noise draws for " + weights.length + " weights");
        }
        if (draws.size() == 1) return draws.getFirst();
        double[] w = normalized(weights);
        double squares = 0;
        for (double x : w) squares += x * x;
        double scale = 1 / Math.sqrt(squares);
        FloatTensor first = draws.getFirst();
        double[] r = new double[first.size()];
        for (int j = 0; j < w.length; j++) {
            float[] d = draws.get(j).data();
            if (d.length != r.length) throw new IllegalArgumentException("noise draws differ in size");
            double c = w[j] * scale;
            for (int i = 0; i < r.length; i++) r[i] += c * d[i];
        }
        return new FloatTensor(toFloat(r), first.shape());
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
