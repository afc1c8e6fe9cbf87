package io.streamdiffusion4j.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fixed noise of a stream as a weighted blend of the noise of several seeds
 * ({@code seed_list} of the livepeer fork). A single seed is the one-entry blend, which draws
 * exactly what that seed draws. See {@link Blending#noise} for the formula.
 *
 * @param seeds 1 to {@link LiveSettingsLimits#MAX_BLEND_ENTRIES} entries, weights not all 0
 */
public record SeedBlend(List<WeightedSeed> seeds) {
    public SeedBlend {
        seeds = List.copyOf(seeds);
        LiveSettingsLimits.checkBlendSize("seed_list", seeds.size(), seeds.stream().mapToDouble(WeightedSeed::weight).toArray());
    }

    public static SeedBlend of(long seed) {
        return new SeedBlend(List.of(new WeightedSeed(seed, 1)));
    }

    /**
     * The entries that count, in order: a repeated seed merged into its first place (its noise
     * is the same draw, so its weights add), zero weights dropped.
     */
    public List<WeightedSeed> effective() {
        Map<Long, Double> merged = new LinkedHashMap<>();
        for (WeightedSeed s : seeds) merged.merge(s.seed(), s.weight(), Double::sum);
        List<WeightedSeed> out = new ArrayList<>();
        merged.forEach((seed, w) -> {
            if (w > 0) out.add(new WeightedSeed(seed, w));
        });
        return out;
    }

    /**
     * The stream's seed: the first weighted entry. It seeds everything else drawn at random
     * (VAE posterior samples, txt2img's new-frame noise, the similarity filter), as a single seed does.
     */
    public long primarySeed() {
        return effective().getFirst().seed();
    }

    public boolean isSingle() {
        return effective().size() == 1;
    }
}
