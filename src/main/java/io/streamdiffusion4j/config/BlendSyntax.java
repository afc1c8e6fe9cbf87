package io.streamdiffusion4j.config;

import io.streamdiffusion4j.pipeline.LiveSettingsLimits;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.random.TorchSeed;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * The text form of blend entries, shared by the CLI options ({@code --prompt-blend},
 * {@code --seed-blend}) and {@code run}'s live commands ({@code prompt_blend}, {@code seed_blend}).
 *
 * <p>A prompt entry is {@code TEXT:WEIGHT}: the weight follows the <em>last</em> colon, and only
 * when what follows it is a number; otherwise the whole entry is the text with weight 1. So
 * {@code "style: watercolor"} is one text of weight 1 and {@code "a cat:0.7"} has weight 0.7; a
 * text that itself ends in {@code :NUMBER} (e.g. {@code "aspect 16:9"}) needs an explicit weight
 * ({@code "aspect 16:9:1"}). A seed entry is {@code SEED[:WEIGHT]} (weight 1 when absent).
 * Errors are IllegalArgumentExceptions that quote the entry.
 */
public final class BlendSyntax {
    private BlendSyntax() {}

    public static WeightedPrompt prompt(String entry) {
        String s = entry.strip();
        int colon = s.lastIndexOf(':');
        if (colon >= 0) {
            Double w = number(s.substring(colon + 1).strip());
            if (w != null) {
                String text = s.substring(0, colon).strip();
                return new WeightedPrompt(text, checkWeight("prompt", entry, w));
            }
        }
        return new WeightedPrompt(s, 1);
    }

    public static WeightedSeed seed(String entry) {
        String s = entry.strip();
        int colon = s.indexOf(':');
        String seedText = colon < 0 ? s : s.substring(0, colon).strip();
        double w = 1;
        if (colon >= 0) {
            Double parsed = number(s.substring(colon + 1).strip());
            if (parsed == null) throw new IllegalArgumentException("seed blend entry '" + abbreviate(entry) + "' must be SEED[:WEIGHT], the weight a number");
            w = checkWeight("seed", entry, parsed);
        }
        BigInteger seed;
        try {
            seed = new BigInteger(seedText.length() > 40 ? "x" : seedText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("seed blend entry '" + abbreviate(entry) + "' must be SEED[:WEIGHT], the seed an integer");
        }
        return new WeightedSeed(TorchSeed.of(seed), w);
    }

    /** Prompt entries separated by {@code |}, e.g. {@code a cat:0.7 | a dog:0.3}. */
    public static List<WeightedPrompt> prompts(String line) {
        List<WeightedPrompt> out = new ArrayList<>();
        String[] parts = line.split("\\|", -1);
        if (parts.length > LiveSettingsLimits.MAX_BLEND_ENTRIES) {
            throw new IllegalArgumentException("prompt_list must have 1 to " + LiveSettingsLimits.MAX_BLEND_ENTRIES + " entries, found " + parts.length);
        }
        for (String p : parts) {
            if (p.isBlank()) throw new IllegalArgumentException("prompt blend entries are TEXT[:WEIGHT] separated by '|'; found an empty one");
            out.add(prompt(p));
        }
        return out;
    }

    /** Seed entries separated by commas or spaces, e.g. {@code 5:0.7, 9:0.3}. */
    public static List<WeightedSeed> seeds(String line) {
        List<WeightedSeed> out = new ArrayList<>();
        String[] parts = line.strip().isEmpty() ? new String[0] : line.strip().split("[,\\s]+");
        if (parts.length < 1 || parts.length > LiveSettingsLimits.MAX_BLEND_ENTRIES) {
            throw new IllegalArgumentException("seed_list must have 1 to " + LiveSettingsLimits.MAX_BLEND_ENTRIES + " entries, found " + parts.length);
        }
        for (String p : parts) out.add(seed(p));
        return out;
    }

    private static double checkWeight(String kind, String entry, double w) {
        if (!(w >= 0) || !Double.isFinite(w)) {
            throw new IllegalArgumentException(kind + " blend entry '" + abbreviate(entry) + "': the weight must be finite and >= 0, found " + w);
        }
        return w;
    }

    private static Double number(String s) {
        if (s.isEmpty() || s.length() > 40 || !s.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?|[+-]?(NaN|Infinity)")) return null;
        return Double.parseDouble(s);
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
