package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.config.BlendJson;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.IpAdapterStyle;
import io.streamdiffusion4j.pipeline.LiveSettingsLimits;
import io.streamdiffusion4j.pipeline.PromptBlend;
import io.streamdiffusion4j.pipeline.SeedBlend;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.random.TorchSeed;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a client's settings message and merges it into the session's settings. Everything a
 * client sends is bounded: text lengths, numeric ranges, at most four denoising steps, by
 * {@link LiveSettingsLimits} (the same bounds as the CLI's live commands). Keys that name
 * anything else (a model, a file, a size) are refused with the reason, never used.
 */
final class SettingsParser {

    private static final Set<String> KEYS = Set.of("prompt", "negative_prompt", "strength", "t_index_list", "guidance_scale",
            "delta", "seed", "similar_image_filter", "prompt_list", "interpolation", "seed_list", "prompt_transition_frames",
            "controlnet_scales", "ip_adapter_scale", "ip_scale");
    private static final Set<String> FILTER_KEYS = Set.of("enabled", "threshold", "max_skip_frame");

    private final int numInferenceSteps;
    private final StrengthPresets presets;
    private final String size;
    private final boolean img2img;

    /**
     * @param img2img whether strength and t_index_list may be set (txt2img sessions denoise from
     *                pure noise with the server's list)
     */
    SettingsParser(int numInferenceSteps, StrengthPresets presets, int width, int height, boolean img2img) {
        this.numInferenceSteps = numInferenceSteps;
        this.presets = presets;
        this.size = width + "x" + height;
        this.img2img = img2img;
    }

    StrengthPresets presets() {
        return presets;
    }

    /**
     * Merges a settings message (keys absent keep their value; "type" is the message's own key).
     * Unknown keys are errors.
     */
    StreamSettings merge(StreamSettings current, JsonNode message) throws ProtocolException {
        return merge(current, message, false);
    }

    /**
     * @param lenient the original demo's client: its pydantic model ignores unknown keys, accepts
     *                numbers sent as strings, and always sends width and height (which the server
     *                decides, so they are ignored)
     */
    StreamSettings merge(StreamSettings current, JsonNode message, boolean lenient) throws ProtocolException {
        if (!(message instanceof ObjectNode o)) throw bad("settings must be a JSON object");
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (key.equals("type") || KEYS.contains(key)) continue;
            if (lenient) continue;
            if (key.equals("width") || key.equals("height")) {
                throw bad("the server decides the image size (" + size + "); '" + key + "' cannot be set");
            }
            throw bad("unknown setting '" + key + "'; settings are " + String.join(", ", KEYS.stream().sorted().toList()));
        }
        String prompt = text(o, "prompt", current.prompt(), lenient);
        String negative = text(o, "negative_prompt", current.negativePrompt(), lenient);
        List<Integer> tIndex = current.tIndexList();
        if (o.has("strength") || o.has("t_index_list")) {
            if (!img2img) throw bad("strength and t_index_list apply to img2img; txt2img uses the server's steps");
            if (o.has("strength") && o.has("t_index_list")) throw bad("give strength or t_index_list, not both");
            tIndex = o.has("strength") ? strength(o.get("strength")) : tIndexList(o.get("t_index_list"));
        }
        double guidance = number(o, current.guidanceScale(), LiveSettingsLimits.GUIDANCE_SCALE, lenient);
        double delta = number(o, current.delta(), LiveSettingsLimits.DELTA, lenient);
        long seed = o.has("seed") && !(lenient && o.get("seed").isNull()) ? seed(o.get("seed"), lenient) : current.seed();
        SimilarityFilterSettings filter = current.filter();
        if (o.has("similar_image_filter")) filter = filter(o.get("similar_image_filter"), filter, lenient);
        // blending: a message's prompt_list replaces the blend, a plain prompt (without one) ends it; seeds alike
        if (has(o, "prompt_list", lenient) && has(o, "prompt", lenient)) throw bad("give prompt or prompt_list, not both");
        if (has(o, "seed_list", lenient) && has(o, "seed", lenient)) throw bad("give seed or seed_list, not both");
        Interpolation interpolation = current.interpolation();
        if (has(o, "interpolation", lenient)) {
            JsonNode v = o.get("interpolation");
            if (!v.isTextual()) throw bad("interpolation must be \"linear\" or \"slerp\", found " + abbreviate(v.toString()));
            try {
                interpolation = Interpolation.parse(v.textValue());
            } catch (IllegalArgumentException e) {
                throw bad(abbreviate(e.getMessage()));
            }
        }
        List<WeightedPrompt> promptList = has(o, "prompt", lenient) ? List.of() : current.promptList();
        if (has(o, "prompt_list", lenient)) {
            promptList = promptList(o.get("prompt_list"));
            prompt = new PromptBlend(promptList, interpolation).primaryText();
        }
        List<WeightedSeed> seedList = has(o, "seed", lenient) ? List.of() : current.seedList();
        if (has(o, "seed_list", lenient)) {
            seedList = seedList(o.get("seed_list"));
            seed = new SeedBlend(seedList).primarySeed();
        }
        int transition = current.promptTransitionFrames();
        if (has(o, "prompt_transition_frames", lenient)) {
            double frames = number(o, "prompt_transition_frames", 0, 0, LiveSettingsLimits.MAX_TRANSITION_FRAMES, lenient);
            try {
                transition = LiveSettingsLimits.checkTransitionFrames(frames);
            } catch (IllegalArgumentException e) {
                throw bad(e.getMessage());
            }
        }
        List<Double> controlnetScales = current.controlnetScales();
        if (has(o, "controlnet_scales", lenient)) controlnetScales = controlnetScales(o.get("controlnet_scales"), controlnetScales.size());
        double ipScale = ipAdapterScale(o, current.ipAdapterScale(), lenient);
        return new StreamSettings(prompt, negative, tIndex, guidance, delta, seed, filter, promptList, interpolation, seedList,
                transition, controlnetScales, ipScale);
    }

    /**
     * {@code ip_adapter_scale} (as the run configuration names it) or its short form {@code ip_scale}
     * (as {@code run}'s live command), in [0, {@link IpAdapterStyle#MAX_SCALE}]; refused when the
     * server runs no IP-Adapter ({@code current} NaN).
     */
    private static double ipAdapterScale(ObjectNode o, double current, boolean lenient) throws ProtocolException {
        boolean full = has(o, "ip_adapter_scale", lenient);
        boolean brief = has(o, "ip_scale", lenient);
        if (!full && !brief) return current;
        String key = full ? "ip_adapter_scale" : "ip_scale";
        if (full && brief) throw bad("give ip_adapter_scale or ip_scale, not both");
        if (Double.isNaN(current)) throw bad("this server runs no IP-Adapter (serve --ip-adapter); " + key + " cannot be set");
        return number(o, key, current, 0, IpAdapterStyle.MAX_SCALE, lenient);
    }

    /** One scale per ControlNet of the server, each in {@link LiveSettingsLimits#CONTROLNET_SCALE} (0: off). */
    private static List<Double> controlnetScales(JsonNode v, int count) throws ProtocolException {
        if (count == 0) throw bad("this server runs no ControlNet; controlnet_scales cannot be set");
        if (!v.isArray() || v.size() != count) {
            throw bad("controlnet_scales must be an array of " + count + " number(s), one per ControlNet, found " + abbreviate(v.toString()));
        }
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            JsonNode e = v.get(i);
            if (!e.isNumber() || !LiveSettingsLimits.CONTROLNET_SCALE.contains(e.doubleValue())) {
                throw bad("controlnet_scales[" + i + "] must be a number in " + LiveSettingsLimits.CONTROLNET_SCALE + ", found "
                        + abbreviate(e.toString()));
            }
            out.add(e.doubleValue());
        }
        return out;
    }

    private static boolean has(ObjectNode o, String key, boolean lenient) {
        return o.has(key) && !(lenient && o.get(key).isNull());
    }

    /** [[text, weight], ...] (see {@link BlendJson}), each text within the live prompt limit. */
    private static List<WeightedPrompt> promptList(JsonNode v) throws ProtocolException {
        try {
            return BlendJson.prompts(v, text -> LiveSettingsLimits.checkPrompt("text", text));
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
    }

    /** [[seed, weight], ...], each seed in torch's range as "seed" is. */
    private static List<WeightedSeed> seedList(JsonNode v) throws ProtocolException {
        try {
            return BlendJson.seeds(v, n -> {
                try {
                    return seed(n, false);
                } catch (ProtocolException e) {
                    throw new IllegalArgumentException(e.getMessage());
                }
            });
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
    }

    /**
     * A seed as torch.manual_seed takes it: any integer in [-2^63, 2^64 - 1] (the original demo's
     * page draws seeds up to 2^53), a negative one wrapping to unsigned ({@link TorchSeed}). A
     * number written with a fraction or exponent must still be a whole number.
     */
    private static long seed(JsonNode v, boolean lenient) throws ProtocolException {
        BigDecimal d;
        if (v.isIntegralNumber()) {
            d = new BigDecimal(v.bigIntegerValue());
        } else if (v.isNumber()) {
            if (!Double.isFinite(v.doubleValue())) throw bad("seed must be a whole number, found " + v);
            d = v.decimalValue();
        } else if (lenient && v.isTextual() && v.textValue().strip().length() <= 40) {
            try {
                d = new BigDecimal(v.textValue().strip());
            } catch (NumberFormatException e) {
                throw bad("seed must be a whole number, found \"" + abbreviate(v.textValue()) + "\"");
            }
        } else {
            throw bad("seed must be a whole number, found " + abbreviate(v.toString()));
        }
        // compared before any conversion: 1e999999999 is short to write and huge to expand
        if (d.compareTo(new BigDecimal(TorchSeed.MIN)) < 0 || d.compareTo(new BigDecimal(TorchSeed.MAX)) > 0) {
            throw bad("seed must be in [" + TorchSeed.MIN + ", " + TorchSeed.MAX + "] (torch's range), found " + abbreviate(v.asText()));
        }
        if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) throw bad("seed must be a whole number, found " + abbreviate(v.asText()));
        return TorchSeed.of(d.toBigIntegerExact());
    }

    private List<Integer> strength(JsonNode v) throws ProtocolException {
        if (!v.isTextual()) throw bad("strength must be one of " + presets.names() + ", found " + v);
        List<Integer> list = presets.get(v.textValue());
        if (list == null) throw bad("strength must be one of " + presets.names() + ", found \"" + v.textValue() + "\"");
        return list;
    }

    private List<Integer> tIndexList(JsonNode v) throws ProtocolException {
        if (!v.isArray() || v.isEmpty() || v.size() > LiveSettingsLimits.MAX_STEPS) {
            throw bad("t_index_list must be an array of 1 to " + LiveSettingsLimits.MAX_STEPS + " integers, found "
                    + abbreviate(v.toString()));
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.canConvertToInt() || !e.isIntegralNumber()) throw bad("t_index_list entries must be integers, found " + e);
            out.add(e.intValue());
        }
        try {
            return LiveSettingsLimits.checkTIndexList(out, numInferenceSteps);
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
    }

    private SimilarityFilterSettings filter(JsonNode v, SimilarityFilterSettings current, boolean lenient)
            throws ProtocolException {
        if (!(v instanceof ObjectNode f)) throw bad("similar_image_filter must be an object with enabled, threshold, max_skip_frame");
        for (Iterator<String> it = f.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!FILTER_KEYS.contains(key) && !lenient) {
                throw bad("unknown similar_image_filter key '" + key + "'; keys are enabled, threshold, max_skip_frame");
            }
        }
        boolean enabled = current.enabled();
        if (f.has("enabled")) {
            if (!f.get("enabled").isBoolean()) throw bad("similar_image_filter.enabled must be true or false");
            enabled = f.get("enabled").booleanValue();
        }
        double threshold = number(f, "threshold", current.threshold(), LiveSettingsLimits.FILTER_THRESHOLD.min(),
                LiveSettingsLimits.FILTER_THRESHOLD.max(), lenient);
        double maxSkip = number(f, "max_skip_frame", current.maxSkipFrame(), 0, LiveSettingsLimits.MAX_SKIP_FRAME, lenient);
        try {
            return new SimilarityFilterSettings(enabled, threshold, LiveSettingsLimits.checkMaxSkipFrame(maxSkip));
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
    }

    private static String text(ObjectNode o, String key, String current, boolean lenient) throws ProtocolException {
        JsonNode v = o.get(key);
        if (v == null || (lenient && v.isNull())) return current;
        if (!v.isTextual()) throw bad(key + " must be a string");
        try {
            return LiveSettingsLimits.checkPrompt(key, v.textValue());
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
    }

    private static double number(JsonNode o, double current, LiveSettingsLimits.Range range, boolean lenient)
            throws ProtocolException {
        return number(o, range.name(), current, range.min(), range.max(), lenient);
    }

    private static double number(JsonNode o, String key, double current, double min, double max, boolean lenient)
            throws ProtocolException {
        JsonNode v = o.get(key);
        if (v == null || (lenient && v.isNull())) return current;
        double d;
        if (v.isNumber()) {
            d = v.doubleValue();
        } else if (lenient && v.isTextual()) {
            try {
                d = Double.parseDouble(v.textValue().strip());
            } catch (NumberFormatException e) {
                throw bad(key + " must be a number, found \"" + abbreviate(v.textValue()) + "\"");
            }
        } else {
            throw bad(key + " must be a number, found " + abbreviate(v.toString()));
        }
        if (!(d >= min && d <= max)) throw bad(key + " must be in [" + fmt(min) + ", " + fmt(max) + "], found " + v);
        return d;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException("bad_settings", message);
    }

    /** The bounds, for the hello message (the page sets its controls from them). */
    Map<String, Object> limits() {
        return Map.of("prompt_chars", LiveSettingsLimits.MAX_PROMPT_CHARS,
                "guidance_scale", List.of(LiveSettingsLimits.GUIDANCE_SCALE.min(), LiveSettingsLimits.GUIDANCE_SCALE.max()),
                "delta", List.of(LiveSettingsLimits.DELTA.min(), LiveSettingsLimits.DELTA.max()),
                "seed", List.of(TorchSeed.MIN, TorchSeed.MAX), "t_index_list_entries", LiveSettingsLimits.MAX_STEPS,
                "num_inference_steps", numInferenceSteps, "blend_entries", LiveSettingsLimits.MAX_BLEND_ENTRIES,
                "prompt_transition_frames", LiveSettingsLimits.MAX_TRANSITION_FRAMES,
                "controlnet_scale", List.of(LiveSettingsLimits.CONTROLNET_SCALE.min(), LiveSettingsLimits.CONTROLNET_SCALE.max()),
                "ip_adapter_scale", List.of(0.0, IpAdapterStyle.MAX_SCALE));
    }
}
