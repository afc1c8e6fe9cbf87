package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.random.UniformSource;
import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * The Stochastic Similarity Filter: skips input frames that are nearly the same as the last
 * frame that went through, with a probability that grows with their cosine similarity. On a
 * skip the stream state does not move and the caller repeats its previous output.
 *
 * <p>Faithful to the original's {@code SimilarImageFilter}: the first frame always passes; a
 * uniform draw {@code u} is taken for every later frame; the frame is skipped when
 * {@code p >= u} with {@code p = max(0, 1 - (1 - cos) / (1 - threshold))}; after more than
 * {@code max_skip_frame} consecutive skips one frame is forced through and the count resets.
 * The count is not reset when a frame passes on its own (as in the original).
 */
public final class SimilarityFilter {
    private final double threshold;
    private final int maxSkipFrame;
    private final UniformSource uniforms;
    private float[] previous;
    private int skipCount;
    // the last decision, kept as primitives so that filtering a frame allocates nothing
    private boolean decided;
    private boolean lastSkip;
    private double lastCosine;
    private double lastDraw;
    private double lastProbability;
    private boolean lastForced;

    /** What the filter decided for one frame, with the numbers that decided it. */
    public record Decision(boolean skip, double cosine, double draw, double skipProbability, boolean forced) {}

    public SimilarityFilter(SimilarityFilterSettings settings, UniformSource uniforms) {
        this.threshold = settings.threshold();
        this.maxSkipFrame = settings.maxSkipFrame();
        this.uniforms = uniforms;
    }

    /** Returns true when the frame batch {@code x} should be skipped. */
    public boolean shouldSkip(FloatTensor x) {
        float[] current = x.data();
        if (previous == null || previous.length != current.length) {
            previous = current.clone(); // the only copy: later frames are copied into this array
            decide(false, Double.NaN, Double.NaN, 0, false);
            return false;
        }
        double cos = cosineSimilarity(previous, current);
        double u = uniforms.nextUniform();
        double p = threshold >= 1 ? 0 : Math.max(0, 1 - (1 - cos) / (1 - threshold));
        if (p < u) {
            System.arraycopy(current, 0, previous, 0, current.length);
            decide(false, cos, u, p, false);
            return false;
        }
        if (skipCount > maxSkipFrame) {
            skipCount = 0;
            System.arraycopy(current, 0, previous, 0, current.length);
            decide(false, cos, u, p, true);
            return false;
        }
        skipCount++;
        decide(true, cos, u, p, false);
        return true;
    }

    private void decide(boolean skip, double cosine, double draw, double probability, boolean forced) {
        decided = true;
        lastSkip = skip;
        lastCosine = cosine;
        lastDraw = draw;
        lastProbability = probability;
        lastForced = forced;
    }

    public Decision lastDecision() {
        return decided ? new Decision(lastSkip, lastCosine, lastDraw, lastProbability, lastForced) : null;
    }

    /** Forget the reference frame (a new stream starts). */
    public void reset() {
        previous = null;
        skipCount = 0;
        decided = false;
    }

    /**
     * {@code torch.nn.CosineSimilarity(dim=0, eps=1e-6)} of the flattened tensors, rounded to
     * float32 as the original's {@code .item()} of a float32 tensor.
     */
    static double cosineSimilarity(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        double eps = 1e-6;
        return (float) (dot / (Math.max(Math.sqrt(na), eps) * Math.max(Math.sqrt(nb), eps)));
    }
}
