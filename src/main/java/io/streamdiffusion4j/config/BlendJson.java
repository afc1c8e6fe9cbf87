package io.streamdiffusion4j.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.LiveSettingsLimits;
import io.streamdiffusion4j.pipeline.PromptBlend;
import io.streamdiffusion4j.pipeline.SeedBlend;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;
import java.util.function.UnaryOperator;

/**
 * The JSON form of blend lists, {@code [[value, weight], ...]}, shared by the run configuration
 * and the web's settings messages. The list's size is checked before any entry is read; each
 * error is an IllegalArgumentException that names the key and the entry's index.
 */
public final class BlendJson {
    private BlendJson() {}

    /** {@code prompt_list}: 1 to 8 [text, weight] pairs, each text passed through {@code checkText} (which may refuse it). */
    public static List<WeightedPrompt> prompts(JsonNode v, UnaryOperator<String> checkText) {
        List<WeightedPrompt> out = new ArrayList<>();
        for (JsonNode[] pair : pairs("prompt_list", v, "[[\"a cat\", 0.7], [\"a dog\", 0.3]]")) {
            String at = "prompt_list[" + out.size() + "]";
            if (!pair[0].isTextual()) throw new IllegalArgumentException(at + " text must be a string, found " + abbreviate(pair[0].toString()));
            String text;
            try {
                text = checkText.apply(pair[0].textValue());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(at + ": " + e.getMessage());
            }
            out.add(new WeightedPrompt(text, weight(at, pair[1])));
        }
        new PromptBlend(out, Interpolation.LINEAR); // weights not all 0
        return out;
    }

    /** {@code seed_list}: 1 to 8 [seed, weight] pairs, each seed read by {@code readSeed} (which may refuse it). */
    public static List<WeightedSeed> seeds(JsonNode v, ToLongFunction<JsonNode> readSeed) {
        List<WeightedSeed> out = new ArrayList<>();
        for (JsonNode[] pair : pairs("seed_list", v, "[[2, 0.5], [7, 0.5]]")) {
            String at = "seed_list[" + out.size() + "]";
            long seed;
            try {
                seed = readSeed.applyAsLong(pair[0]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(at + ": " + e.getMessage());
            }
            out.add(new WeightedSeed(seed, weight(at, pair[1])));
        }
        new SeedBlend(out); // weights not all 0
        return out;
    }

    private static List<JsonNode[]> pairs(String key, JsonNode v, String example) {
        if (!v.isArray() || v.isEmpty() || v.size() > LiveSettingsLimits.MAX_BLEND_ENTRIES) {
            throw new IllegalArgumentException(key + " must be a list of 1 to " + LiveSettingsLimits.MAX_BLEND_ENTRIES
                    + " [value, weight] pairs like " + example + ", found " + abbreviate(v.toString()));
        }
        List<JsonNode[]> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isArray() || e.size() != 2) {
                throw new IllegalArgumentException(key + "[" + out.size() + "] must be a [value, weight] pair, found " + abbreviate(e.toString()));
            }
            out.add(new JsonNode[] {e.get(0), e.get(1)});
        }
        return out;
    }

    private static double weight(String at, JsonNode w) {
        if (!w.isNumber() || !Double.isFinite(w.doubleValue()) || w.doubleValue() < 0) {
            throw new IllegalArgumentException(at + " weight must be a finite number >= 0, found " + abbreviate(w.toString()));
        }
        return w.doubleValue();
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
