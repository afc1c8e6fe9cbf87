package io.streamdiffusion4j.pipeline;

/**
 * One entry of a seed blend: a seed (any 64 bits, as {@link StreamDiffusion#updateSeed} takes
 * it) and its weight (finite, >= 0).
 */
public record WeightedSeed(long seed, double weight) {
    public WeightedSeed {
        LiveSettingsLimits.checkBlendWeight("seed_list", weight);
    }
}
