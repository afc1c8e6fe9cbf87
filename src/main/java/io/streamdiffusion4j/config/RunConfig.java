package io.streamdiffusion4j.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.LiveSettingsLimits;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.PromptBlend;
import io.streamdiffusion4j.pipeline.SeedBlend;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import java.io.IOException;
import java.nio.file.Path;
import io.streamdiffusion4j.control.ControlPreprocessors;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A run configuration: the original's parameters under its snake_case keys, exactly the format
 * of the reference runs' {@code config.json}, plus {@code txt2img_method} and {@code num_outputs}.
 * Missing keys take the original wrapper's defaults; unknown keys and bad values are errors
 * that name the key.
 *
 * <pre>{@code
 * {"prompt": "a watercolor painting of a fox", "negative_prompt": "", "width": 512, "height": 512,
 *  "t_index_list": [32, 45], "num_inference_steps": 50, "guidance_scale": 1.2, "delta": 1.0,
 *  "cfg_type": "self", "frame_buffer_size": 1, "use_denoising_batch": true, "do_add_noise": true,
 *  "mode": "img2img", "use_tiny_vae": true, "seed": 2, "txt2img_method": "txt2img", "num_outputs": 1,
 *  "similar_image_filter": {"enabled": false, "threshold": 0.98, "max_skip_frame": 10}}
 * }</pre>
 *
 * <p>Blending (the livepeer fork's lists): {@code "prompt_list": [["a cat", 0.7], ["a dog", 0.3]]}
 * instead of {@code prompt}, {@code "interpolation": "linear"|"slerp"},
 * {@code "seed_list": [[2, 0.5], [7, 0.5]]} instead of {@code seed}, and
 * {@code "prompt_transition_frames": N} for live prompt changes. {@link #promptBlend} is always
 * set (a single prompt is a one-entry blend); {@link #seedBlend} is null without a seed_list.
 *
 * <p>ControlNet: {@code "controlnets": [{"path": "models/cn-canny", "scale": 0.8}, "org/name:0.5"]}
 * (objects, or strings in {@link ControlNetSpec}'s {@code DIR|ID[:SCALE]} form; scale 1 when left
 * out), {@code "control_preprocessor": "canny" | "depth" | "none"} (default canny) and
 * {@code "control_depth_model"}: the depth preprocessor's ONNX model, a folder, file or Hub id
 * (default {@value #DEFAULT_DEPTH_MODEL}).
 */
public record RunConfig(
        String prompt,
        String negativePrompt,
        int width,
        int height,
        int[] tIndexList,
        int numInferenceSteps,
        double guidanceScale,
        double delta,
        CfgType cfgType,
        int frameBufferSize,
        boolean useDenoisingBatch,
        boolean doAddNoise,
        Mode mode,
        boolean useTinyVae,
        SimilarityFilterSettings similarImageFilter,
        long seed,
        Txt2ImgMethod txt2imgMethod,
        int numOutputs,
        PromptBlend promptBlend,
        SeedBlend seedBlend,
        int promptTransitionFrames,
        List<ControlNetSpec> controlNets,
        String controlPreprocessor,
        String controlDepthModel,
        IpAdapterSettings ipAdapter) {

    /** The depth model of the depth preprocessor when none is named (a Hub id with onnx/model.onnx). */
    public static final String DEFAULT_DEPTH_MODEL = "onnx-community/depth-anything-v2-small";

    /** The control preprocessor when a configuration gives ControlNets but names none. */
    public static final String DEFAULT_CONTROL_PREPROCESSOR = "canny";

    /** Which txt2img path: through the stream batch, or sd-turbo's one step per row. */
    public enum Txt2ImgMethod {
        TXT2IMG("txt2img"),
        SD_TURBO("sd_turbo");

        private final String key;

        Txt2ImgMethod(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }
    }

    private static final Set<String> KEYS = Set.of("prompt", "negative_prompt", "width", "height", "t_index_list",
            "num_inference_steps", "guidance_scale", "delta", "cfg_type", "frame_buffer_size", "use_denoising_batch",
            "do_add_noise", "mode", "use_tiny_vae", "similar_image_filter", "seed", "txt2img_method", "num_outputs",
            "prompt_list", "interpolation", "seed_list", "prompt_transition_frames", "controlnets", "control_preprocessor",
            "control_depth_model", "ip_adapter", "ip_adapter_scale", "style_image");
    private static final Set<String> CONTROLNET_KEYS = Set.of("path", "scale");
    private static final Set<String> FILTER_KEYS = Set.of("enabled", "threshold", "max_skip_frame");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads a configuration file. */
    public static ObjectNode readJson(Path file) throws ConfigException, IOException {
        try {
            return (ObjectNode) InputFiles.jsonObject(file, "config file");
        } catch (InputFileException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    public static RunConfig parse(String json, String source) throws ConfigException {
        try {
            JsonNode root = JSON.readTree(json);
            if (root == null || !root.isObject()) throw new ConfigException(source + ": expected a JSON object");
            return fromJson((ObjectNode) root, source);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source + ": not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** Validates and converts a configuration object; {@code source} names it in errors. */
    public static RunConfig fromJson(ObjectNode root, String source) throws ConfigException {
        Reader r = new Reader(root, source);
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYS.contains(key)) {
                throw new ConfigException(source + ": unknown key '" + key + "'; known keys: " + String.join(", ", KEYS.stream().sorted().toList()));
            }
        }
        int steps = r.integer("num_inference_steps", 50, 1, 1000);
        int[] tIndex = r.intList("t_index_list", new int[] {32, 45});
        for (int t : tIndex) {
            if (t < 0 || t >= steps) {
                throw new ConfigException(source + ": t_index_list entry " + t + " is outside [0, " + (steps - 1)
                        + "]: each entry must be below num_inference_steps (" + steps + ")");
            }
        }
        int width = r.multipleOf8("width", 512);
        int height = r.multipleOf8("height", 512);
        SimilarityFilterSettings filter = r.filter();
        Mode mode;
        CfgType cfg;
        Txt2ImgMethod method;
        try {
            mode = Mode.parse(r.string("mode", "img2img"));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": mode: " + e.getMessage());
        }
        try {
            cfg = CfgType.parse(r.string("cfg_type", "self"));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": cfg_type: " + e.getMessage());
        }
        String m = r.string("txt2img_method", "txt2img");
        method = switch (m) {
            case "txt2img" -> Txt2ImgMethod.TXT2IMG;
            case "sd_turbo" -> Txt2ImgMethod.SD_TURBO;
            default -> throw new ConfigException(source + ": txt2img_method must be \"txt2img\" or \"sd_turbo\", found \"" + m + "\"");
        };
        Interpolation interpolation;
        try {
            interpolation = Interpolation.parse(r.string("interpolation", "linear"));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": " + e.getMessage());
        }
        if (r.get("prompt_list") != null && r.get("prompt") != null) {
            throw new ConfigException(source + ": give prompt or prompt_list, not both");
        }
        if (r.get("seed_list") != null && r.get("seed") != null) {
            throw new ConfigException(source + ": give seed or seed_list, not both");
        }
        PromptBlend promptBlend = r.get("prompt_list") != null ? r.promptList(interpolation)
                : new PromptBlend(List.of(new WeightedPrompt(r.string("prompt", ""), 1)), interpolation);
        SeedBlend seedBlend = r.seedList();
        List<ControlNetSpec> controlNets = r.controlNets();
        if (!controlNets.isEmpty() && mode != Mode.IMG2IMG) {
            throw new ConfigException(source + ": controlnets work in img2img only (the control images come from the input frames),"
                    + " but mode is " + mode.key());
        }
        IpAdapterSettings ipAdapter = r.ipAdapter();
        return new RunConfig(
                promptBlend.primaryText(),
                r.string("negative_prompt", ""),
                width, height, tIndex, steps,
                r.number("guidance_scale", 1.2),
                r.number("delta", 1.0),
                cfg,
                r.integer("frame_buffer_size", 1, 1, 64),
                r.bool("use_denoising_batch", true),
                r.bool("do_add_noise", true),
                mode,
                r.bool("use_tiny_vae", true),
                filter,
                seedBlend != null ? seedBlend.primarySeed() : r.seed(),
                method,
                r.integer("num_outputs", 1, 1, Integer.MAX_VALUE),
                promptBlend,
                seedBlend,
                r.integer("prompt_transition_frames", 0, 0, LiveSettingsLimits.MAX_TRANSITION_FRAMES),
                controlNets,
                r.controlPreprocessor(),
                r.string("control_depth_model", DEFAULT_DEPTH_MODEL),
                ipAdapter);
    }

    /** The stream shape this configuration asks for. */
    public StreamConfig streamConfig() {
        return new StreamConfig(tIndexList, width, height, frameBufferSize, doAddNoise, useDenoisingBatch, cfgType, seed,
                similarImageFilter);
    }

    /**
     * A stream builder with everything of this configuration that is fixed when a stream is built:
     * its {@link #streamConfig()}, the seed blend and the prompt transition. The caller gives the
     * models (and may give another stream shape, as the bench's arms do; the blend stays).
     */
    public StreamDiffusion.Builder streamBuilder() {
        StreamDiffusion.Builder b = StreamDiffusion.builder();
        if (seedBlend != null) b.seedBlend(seedBlend);
        return b.config(streamConfig()).promptTransitionFrames(promptTransitionFrames);
    }

    @Override
    public int[] tIndexList() {
        return tIndexList.clone();
    }

    /** Typed access with errors that name the key. */
    private record Reader(ObjectNode root, String source) {
        /** [[text, weight], ...]: 1 to MAX_BLEND_ENTRIES pairs (texts of any length, as "prompt"). */
        PromptBlend promptList(Interpolation interpolation) throws ConfigException {
            try {
                return new PromptBlend(BlendJson.prompts(get("prompt_list"), text -> text), interpolation);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(source + ": " + e.getMessage());
            }
        }

        /** [[seed, weight], ...], each seed in [0, 4294967295] as "seed"; null when absent. */
        SeedBlend seedList() throws ConfigException {
            if (get("seed_list") == null) return null;
            try {
                return new SeedBlend(BlendJson.seeds(get("seed_list"), s -> {
                    if (!s.isIntegralNumber() || !s.canConvertToLong() || s.longValue() < 0 || s.longValue() > 0xFFFFFFFFL) {
                        throw new IllegalArgumentException("seed must be an integer in [0, 4294967295], found " + s);
                    }
                    return s.longValue();
                }));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(source + ": " + e.getMessage());
            }
        }

        /** [{"path": P, "scale": S} or "P[:S]", ...]: at most MAX_CONTROLNETS entries. */
        List<ControlNetSpec> controlNets() throws ConfigException {
            JsonNode v = get("controlnets");
            if (v == null) return List.of();
            if (!v.isArray()) {
                throw new ConfigException(source + ": controlnets must be a list like [{\"path\": \"models/cn\", \"scale\": 0.8}], found " + v);
            }
            if (v.size() > LiveSettingsLimits.MAX_CONTROLNETS) {
                throw new ConfigException(source + ": controlnets may hold at most " + LiveSettingsLimits.MAX_CONTROLNETS
                        + " entries, found " + v.size());
            }
            List<ControlNetSpec> out = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                JsonNode e = v.get(i);
                String where = "controlnets[" + i + "]";
                try {
                    if (e.isTextual()) {
                        out.add(ControlNetSpec.parse(e.textValue()));
                        continue;
                    }
                    if (!e.isObject()) {
                        throw new ConfigException(source + ": " + where + " must be an object {\"path\": ..., \"scale\": ...} or a"
                                + " string DIR|ID[:SCALE], found " + e);
                    }
                    for (Iterator<String> it = e.fieldNames(); it.hasNext(); ) {
                        String key = it.next();
                        if (!CONTROLNET_KEYS.contains(key)) {
                            throw new ConfigException(source + ": unknown key '" + where + "." + key + "'; known keys: path, scale");
                        }
                    }
                    JsonNode path = e.get("path");
                    if (path == null || !path.isTextual() || path.textValue().isBlank()) {
                        throw new ConfigException(source + ": " + where + ".path must be a folder, ONNX file or Hub id, found "
                                + (path == null ? "nothing" : path.toString()));
                    }
                    double scale = number(e, "scale", ControlNetSpec.DEFAULT_SCALE, where + ".scale");
                    out.add(new ControlNetSpec(path.textValue(), scale));
                } catch (IllegalArgumentException ex) {
                    throw new ConfigException(source + ": " + where + ": " + ex.getMessage());
                }
            }
            return List.copyOf(out);
        }

        String controlPreprocessor() throws ConfigException {
            String p = string("control_preprocessor", DEFAULT_CONTROL_PREPROCESSOR);
            if (!ControlPreprocessors.known(p)) {
                throw new ConfigException(source + ": control_preprocessor must be one of " + ControlPreprocessors.NAMES
                        + ", found \"" + p + "\"");
            }
            return p;
        }

        private JsonNode get(String key) {
            JsonNode v = root.get(key);
            return v == null || v.isNull() ? null : v;
        }

        /** ip_adapter, ip_adapter_scale, style_image: null without ip_adapter (the other two then are errors). */
        IpAdapterSettings ipAdapter() throws ConfigException {
            String adapter = string("ip_adapter", null);
            if (adapter == null) {
                for (String k : new String[] {"ip_adapter_scale", "style_image"}) {
                    if (get(k) != null) throw new ConfigException(source + ": " + k + " needs ip_adapter (the IP-Adapter folder or file)");
                }
                return null;
            }
            try {
                return new IpAdapterSettings(adapter, number("ip_adapter_scale", 1.0), string("style_image", null));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(source + ": " + e.getMessage());
            }
        }

        String string(String key, String dflt) throws ConfigException {
            JsonNode v = get(key);
            if (v == null) return dflt;
            if (!v.isTextual()) throw new ConfigException(source + ": " + key + " must be a string, found " + v);
            return v.textValue();
        }

        boolean bool(String key, boolean dflt) throws ConfigException {
            return bool(root, key, dflt, key);
        }

        boolean bool(JsonNode node, String key, boolean dflt, String path) throws ConfigException {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isBoolean()) throw new ConfigException(source + ": " + path + " must be true or false, found " + v);
            return v.booleanValue();
        }

        int integer(String key, int dflt, int min, int max) throws ConfigException {
            return integer(root, key, dflt, min, max, key);
        }

        int integer(JsonNode node, String key, int dflt, int min, int max, String path) throws ConfigException {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new ConfigException(source + ": " + path + " must be an integer, found " + v);
            }
            int i = v.intValue();
            if (i < min || i > max) {
                throw new ConfigException(source + ": " + path + " must be in [" + min + ", " + max + "], found " + i);
            }
            return i;
        }

        double number(String key, double dflt) throws ConfigException {
            return number(root, key, dflt, key);
        }

        double number(JsonNode node, String key, double dflt, String path) throws ConfigException {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                throw new ConfigException(source + ": " + path + " must be a number, found " + v);
            }
            return v.doubleValue();
        }

        int multipleOf8(String key, int dflt) throws ConfigException {
            int v = integer(key, dflt, 1, 16384);
            if (v % 8 != 0) throw new ConfigException(source + ": " + key + " must be a multiple of 8, found " + v);
            return v;
        }

        int[] intList(String key, int[] dflt) throws ConfigException {
            JsonNode v = get(key);
            if (v == null) return dflt;
            if (!v.isArray() || v.isEmpty()) {
                throw new ConfigException(source + ": " + key + " must be a non-empty list of integers, found " + v);
            }
            List<Integer> out = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                    throw new ConfigException(source + ": " + key + " must hold integers, found " + e);
                }
                out.add(e.intValue());
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        }

        long seed() throws ConfigException {
            JsonNode v = get("seed");
            if (v == null) return 2;
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new ConfigException(source + ": seed must be an integer, found " + v);
            }
            long s = v.longValue();
            if (s < -1 || s > 0xFFFFFFFFL) {
                throw new ConfigException(source + ": seed must be in [0, 4294967295] (or -1 for a random seed), found " + s);
            }
            return s;
        }

        SimilarityFilterSettings filter() throws ConfigException {
            JsonNode v = get("similar_image_filter");
            if (v == null) return SimilarityFilterSettings.DISABLED;
            if (!v.isObject()) {
                throw new ConfigException(source + ": similar_image_filter must be an object like "
                        + "{\"enabled\": true, \"threshold\": 0.98, \"max_skip_frame\": 10}, found " + v);
            }
            for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!FILTER_KEYS.contains(key)) {
                    throw new ConfigException(source + ": unknown key 'similar_image_filter." + key
                            + "'; known keys: enabled, threshold, max_skip_frame");
                }
            }
            boolean enabled = bool(v, "enabled", false, "similar_image_filter.enabled");
            double threshold = number(v, "threshold", 0.98, "similar_image_filter.threshold");
            if (threshold < 0 || threshold > 1) {
                throw new ConfigException(source + ": similar_image_filter.threshold must be in [0, 1], found " + threshold);
            }
            int maxSkip = integer(v, "max_skip_frame", 10, 0, Integer.MAX_VALUE, "similar_image_filter.max_skip_frame");
            return new SimilarityFilterSettings(enabled, threshold, maxSkip);
        }
    }
}
