package io.streamdiffusion4j.pipeline;

import java.util.Objects;

/** One entry of a prompt blend: a text and its weight (finite, >= 0; weights are normalized). */
public record WeightedPrompt(String text, double weight) {
    public WeightedPrompt {
        Objects.requireNonNull(text, "text");
        LiveSettingsLimits.checkPrompt("prompt_list text", text);
        LiveSettingsLimits.checkBlendWeight("prompt_list", weight);
    }
}
