package io.streamdiffusion4j.pipeline;

/**
 * Settings of the Stochastic Similarity Filter: frames whose cosine similarity with the last
 * processed frame exceeds {@code threshold} are skipped with probability
 * {@code max(0, (cos - threshold) / (1 - threshold))}, at most {@code maxSkipFrame} in a row
 * before one is forced through (the original lets {@code maxSkipFrame + 1} through; see
 * {@link SimilarityFilter}).
 */
public record SimilarityFilterSettings(boolean enabled, double threshold, int maxSkipFrame) {

    public static final SimilarityFilterSettings DISABLED = new SimilarityFilterSettings(false, 0.98, 10);

    public SimilarityFilterSettings {
        if (!(threshold >= 0 && threshold <= 1)) {
            throw new IllegalArgumentException("similar_image_filter.threshold must be in [0, 1], found " + threshold);
        }
        if (maxSkipFrame < 0) {
            throw new IllegalArgumentException("similar_image_filter.max_skip_frame must be >= 0, found " + maxSkipFrame);
        }
    }
}
