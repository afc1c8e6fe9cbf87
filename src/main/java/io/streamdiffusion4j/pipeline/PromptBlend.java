package io.streamdiffusion4j.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The prompt of a stream as a weighted list of texts ({@code prompt_list} of the livepeer fork)
 * and how their embeddings are combined. A single text is the one-entry blend, which gives
 * exactly the embedding of that text. Weights are relative: they are normalized to sum 1.
 *
 * @param prompts 1 to {@link LiveSettingsLimits#MAX_BLEND_ENTRIES} entries, weights not all 0
 */
public record PromptBlend(List<WeightedPrompt> prompts, Interpolation interpolation) {
    public PromptBlend {
        Objects.requireNonNull(interpolation, "interpolation");
        prompts = List.copyOf(prompts);
        LiveSettingsLimits.checkBlendSize("prompt_list", prompts.size(), prompts.stream().mapToDouble(WeightedPrompt::weight).toArray());
    }

    /** One prompt with weight 1. */
    public static PromptBlend of(String text) {
        return new PromptBlend(List.of(new WeightedPrompt(text, 1)), Interpolation.LINEAR);
    }

    /**
     * The entries that count, in order: repeated texts merged into their first place (weights
     * added), zero weights dropped. One left means the blend is that text alone.
     */
    public List<WeightedPrompt> effective() {
        Map<String, Double> merged = new LinkedHashMap<>();
        for (WeightedPrompt p : prompts) merged.merge(p.text(), p.weight(), Double::sum);
        List<WeightedPrompt> out = new ArrayList<>();
        merged.forEach((text, w) -> {
            if (w > 0) out.add(new WeightedPrompt(text, w));
        });
        return out;
    }

    /** The text with the first place among the weighted entries (what {@code prompt} reports). */
    public String primaryText() {
        return effective().getFirst().text();
    }

    public boolean isSingle() {
        return effective().size() == 1;
    }
}
