package io.streamdiffusion4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.config.BlendSyntax;
import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.ControlNetSpec;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.random.TorchSeed;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Options shared by the generating commands: the model folders, the run configuration, and
 * one option per configuration key that overrides the file (checked by the same rules).
 */
final class RunOptions {
    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = {"'tiny' (the built-in model), a folder in Optimum's ONNX layout, a diffusers folder",
                    "(safetensors; converted to ONNX once and cached), an SD 1.x or SDXL single-file .safetensors checkpoint,",
                    "or a Hugging Face Hub id: org/name[@revision] or org/name/file.safetensors (downloaded into",
                    "the Hub cache shared with Python; HF_TOKEN, HF_ENDPOINT, HF_HUB_CACHE, HF_HUB_OFFLINE apply)."})
    String model;

    @Option(names = "--taesd", paramLabel = "DIR|ID",
            description = {"TAESD folder (ONNX vae_encoder/ + vae_decoder/, or a diffusers AutoencoderTiny folder)",
                    "or Hub id (e.g. madebyollin/taesd), used when use_tiny_vae is true; default: the model's own",
                    "taesd/ if it has one."})
    String taesd;

    @Option(names = "--lora", paramLabel = "FILE[:SCALE]",
            description = {"merge a LoRA when converting a diffusers --model (repeatable); FILE may be a Hub id",
                    "(e.g. latent-consistency/lcm-lora-sdv1-5, or org/name/file.safetensors)"})
    List<String> loras = new ArrayList<>();

    @Option(names = "--fp16", description = "convert a diffusers --model to float16")
    boolean fp16;

    @Mixin
    QuantizeOption quantize = new QuantizeOption();

    @Mixin
    IpAdapterOptions ipAdapter = new IpAdapterOptions();

    @Option(names = "--config", paramLabel = "FILE",
            description = "Run configuration (JSON, the original's snake_case keys). Missing keys take defaults.")
    Path config;

    @Option(names = "--prompt", description = "Overrides prompt.") String prompt;
    @Option(names = "--negative-prompt", description = "Overrides negative_prompt.") String negativePrompt;
    @Option(names = "--width", description = "Overrides width (multiple of 8).") Integer width;
    @Option(names = "--height", description = "Overrides height (multiple of 8).") Integer height;
    @Option(names = "--t-index-list", split = ",", paramLabel = "N", description = "Overrides t_index_list, e.g. 32,45.")
    int[] tIndexList;
    @Option(names = "--num-inference-steps", description = "Overrides num_inference_steps.") Integer numInferenceSteps;
    @Option(names = "--guidance-scale", description = "Overrides guidance_scale.") Double guidanceScale;
    @Option(names = "--delta", description = "Overrides delta.") Double delta;
    @Option(names = "--cfg-type", description = "Overrides cfg_type: none, full, self, initialize.") String cfgType;
    @Option(names = "--frame-buffer-size", description = "Overrides frame_buffer_size.") Integer frameBufferSize;
    @Option(names = "--use-denoising-batch", arity = "1", paramLabel = "true|false", description = "Overrides use_denoising_batch.")
    Boolean useDenoisingBatch;
    @Option(names = "--do-add-noise", arity = "1", paramLabel = "true|false", description = "Overrides do_add_noise.")
    Boolean doAddNoise;
    @Option(names = "--use-tiny-vae", arity = "1", paramLabel = "true|false", description = "Overrides use_tiny_vae.")
    Boolean useTinyVae;
    @Option(names = "--seed", description = "Overrides seed (-1: random).") Long seed;
    @Option(names = "--prompt-blend", paramLabel = "TEXT[:WEIGHT]",
            description = {"A prompt of a blend (repeatable; sets prompt_list instead of prompt). The weight follows the last",
                    "':' when that is a number (else the weight is 1), e.g. --prompt-blend 'a cat:0.7' --prompt-blend 'a dog:0.3'."})
    List<String> promptBlend = new ArrayList<>();
    @Option(names = "--interpolation", paramLabel = "linear|slerp", description = "Overrides interpolation (of the prompt blend).")
    String interpolation;
    @Option(names = "--seed-blend", paramLabel = "SEED[:WEIGHT]",
            description = "A seed of a noise blend (repeatable; sets seed_list instead of seed), e.g. --seed-blend 2:0.5 --seed-blend 7:0.5.")
    List<String> seedBlend = new ArrayList<>();
    @Option(names = "--prompt-transition", paramLabel = "N",
            description = "Overrides prompt_transition_frames: live prompt changes are spread over N frames (0: at once).")
    Integer promptTransition;
    @Option(names = "--similar-image-filter", arity = "1", paramLabel = "true|false",
            description = "Overrides similar_image_filter.enabled.") Boolean ssfEnabled;
    @Option(names = "--similar-image-filter-threshold", description = "Overrides similar_image_filter.threshold.")
    Double ssfThreshold;
    @Option(names = "--similar-image-filter-max-skip-frame", description = "Overrides similar_image_filter.max_skip_frame.")
    Integer ssfMaxSkip;

    @Option(names = "--controlnet", paramLabel = "DIR|ID[:SCALE]",
            description = {"A ControlNet (repeatable; sets controlnets): a diffusers ControlNetModel folder or Hub id (converted once),",
                    "a converted folder or its model.onnx, with its conditioning scale in [0, 2] after the last ':' (default 1; 0 keeps it loaded but off).",
                    "A path that itself ends in ':NUMBER' needs an explicit scale, e.g. cut:2:1."})
    List<String> controlNets = new ArrayList<>();
    @Option(names = "--control-preprocessor", paramLabel = "canny|depth|none",
            description = "Overrides control_preprocessor: how input frames become control images (default canny; none: the frame as it is).")
    String controlPreprocessor;
    @Option(names = "--control-depth-model", paramLabel = "DIR|FILE|ID",
            description = "Overrides control_depth_model: the depth preprocessor's ONNX model (default onnx-community/depth-anything-v2-small).")
    String controlDepthModel;

    @Option(names = "--threads", description = "ONNX Runtime intra-op threads (default: all cores).")
    Integer threads;

    @Option(names = "--static-shapes", description = {"Load the sessions with this configuration's fixed shapes (faster;",
            "each configuration adds an optimised copy of the model to the cache; not with live t_index/guidance changes)."})
    boolean staticShapes;

    @Mixin
    OnnxRuntimeOptions runtime = new OnnxRuntimeOptions();

    /** Keys set by a command's own options (for example txt2img's --frames), applied like the overrides. */
    final Map<String, Object> extra = new LinkedHashMap<>();

    /** Things the user should know about the resolved configuration. */
    final List<String> warnings = new ArrayList<>();

    private static <T> T blendEntry(String option, java.util.function.Supplier<T> parse) throws ConfigException {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(option + ": " + e.getMessage());
        }
    }

    /** The configuration file with the command-line overrides applied, validated. */
    RunConfig resolve(String mode) throws ConfigException, IOException {
        ObjectNode root = config != null ? RunConfig.readJson(config) : JsonNodeFactory.instance.objectNode();
        String source = config != null ? config.toString() : "configuration";
        if (prompt != null && !promptBlend.isEmpty()) throw new ConfigException("give --prompt or --prompt-blend, not both");
        if (seed != null && !seedBlend.isEmpty()) throw new ConfigException("give --seed or --seed-blend, not both");
        if (prompt != null) {
            root.put("prompt", prompt);
            root.remove("prompt_list");
        }
        if (!promptBlend.isEmpty()) {
            ArrayNode list = root.putArray("prompt_list");
            for (String entry : promptBlend) {
                WeightedPrompt p = blendEntry("--prompt-blend", () -> BlendSyntax.prompt(entry));
                list.addArray().add(p.text()).add(p.weight());
            }
            root.remove("prompt");
        }
        if (!seedBlend.isEmpty()) {
            ArrayNode list = root.putArray("seed_list");
            for (String entry : seedBlend) {
                WeightedSeed s = blendEntry("--seed-blend", () -> BlendSyntax.seed(entry));
                list.addArray().add(TorchSeed.unsigned(s.seed())).add(s.weight());
            }
            root.remove("seed");
        }
        if (interpolation != null) root.put("interpolation", interpolation);
        if (promptTransition != null) root.put("prompt_transition_frames", promptTransition);
        if (negativePrompt != null) root.put("negative_prompt", negativePrompt);
        if (ipAdapter.ipAdapter != null) {
            IpAdapterOptions.Spec ip = IpAdapterOptions.parse(ipAdapter.ipAdapter);
            root.put("ip_adapter", ip.path().toString());
            root.put("ip_adapter_scale", ip.scale());
        }
        if (ipAdapter.styleImage != null) root.put("style_image", ipAdapter.styleImage.toString());
        if (width != null) root.put("width", width);
        if (height != null) root.put("height", height);
        if (tIndexList != null) {
            ArrayNode a = root.putArray("t_index_list");
            for (int t : tIndexList) a.add(t);
        }
        if (numInferenceSteps != null) root.put("num_inference_steps", numInferenceSteps);
        if (guidanceScale != null) root.put("guidance_scale", guidanceScale);
        if (delta != null) root.put("delta", delta);
        if (cfgType != null) root.put("cfg_type", cfgType);
        if (frameBufferSize != null) root.put("frame_buffer_size", frameBufferSize);
        if (useDenoisingBatch != null) root.put("use_denoising_batch", useDenoisingBatch);
        if (doAddNoise != null) root.put("do_add_noise", doAddNoise);
        if (useTinyVae != null) root.put("use_tiny_vae", useTinyVae);
        if (seed != null) {
            root.put("seed", seed);
            root.remove("seed_list");
        }
        if (ssfEnabled != null || ssfThreshold != null || ssfMaxSkip != null) {
            ObjectNode f = root.get("similar_image_filter") instanceof ObjectNode o ? o : root.putObject("similar_image_filter");
            if (ssfEnabled != null) f.put("enabled", ssfEnabled);
            if (ssfThreshold != null) f.put("threshold", ssfThreshold);
            if (ssfMaxSkip != null) f.put("max_skip_frame", ssfMaxSkip);
        }
        if (!controlNets.isEmpty()) {
            ArrayNode list = root.putArray("controlnets");
            for (String entry : controlNets) {
                ControlNetSpec c = blendEntry("--controlnet", () -> ControlNetSpec.parse(entry));
                list.addObject().put("path", c.source()).put("scale", c.scale());
            }
        }
        if (controlPreprocessor != null) root.put("control_preprocessor", controlPreprocessor);
        if (controlDepthModel != null) root.put("control_depth_model", controlDepthModel);
        for (var e : extra.entrySet()) {
            if (e.getValue() instanceof Integer i) root.put(e.getKey(), i);
            else root.put(e.getKey(), String.valueOf(e.getValue()));
        }
        if (threads != null && threads < 1) throw new ConfigException("--threads must be at least 1, found " + threads);
        if (root.has("mode") && root.get("mode").isTextual() && !root.get("mode").textValue().equals(mode)) {
            // The command says what to run; the file's mode is only a default. Say so rather than fail.
            warnings.add(source + " says mode \"" + root.get("mode").textValue() + "\"; running " + mode
                    + " as the command asks");
        }
        root.put("mode", mode);
        RunConfig rc = RunConfig.fromJson(root, source);
        if (!rc.useTinyVae() && taesd != null) {
            throw new ConfigException("--taesd was given but use_tiny_vae is false; drop one of them");
        }
        return rc;
    }
}
