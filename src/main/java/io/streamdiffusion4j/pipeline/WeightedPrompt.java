package io.streamdiffusion4j.pipeline;

import java.util.Objects;

/**
 * One entry of a prompt blend: a text and its weight (finite, >= 0; weights are normalized). The
 * text's length is bounded where it comes from a live client ({@link LiveSettingsLimits#checkPrompt}).
 */
public record WeightedPrompt(String text, double weight) {
    public WeightedPrompt {
        Objects.requireNonNull(text, "text");
        LiveSettingsLimits.checkBlendWeight("prompt_list", weight);
    }
}
