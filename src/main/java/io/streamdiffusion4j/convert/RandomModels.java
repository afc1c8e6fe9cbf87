package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.SafeTensors.Spec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import java.util.stream.IntStream;

/**
 * Creates a Stable Diffusion model with random weights, in the diffusers folder layout
 * (model_index.json, scheduler/, tokenizer/, text_encoder/, unet/, vae/) plus a TAESD in
 * {@code taesd/}, or for the SDXS layout the TAESD in {@code vae/} and the full VAE in
 * {@code vae_large/}. The same preset and seed give the same files, byte for byte.
 *
 * <p>Weights are drawn so activations stay in a realistic range however deep the model: matrices
 * and kernels N(0, 1/fan_in) (unit gain, like Kaiming's rule for linear layers; TAESD, which has
 * no normalisation, gets He's gain for its ReLUs), the last layer of each residual branch 10x
 * smaller ({@link #RESIDUAL_GAIN}), normalisation scales 1, biases and embeddings small, TAESD's
 * image output centred at mid-grey. The pictures such a model makes are coloured noise, but not
 * saturated ones: what matters is that every operation runs at the real size on values in the
 * range a trained model sees.
 */
public final class RandomModels {
    private static final int CHUNK = 1 << 20;

    /**
     * The version of the weight rules: the same preset and seed give other weights when it
     * changes, so caches of generated models (the built-in {@code tiny}) must be made again.
     * 2: residual outputs scaled down, TAESD with He's gain (outputs no longer saturated).
     */
    public static final int WEIGHTS_VERSION = 2;

    private RandomModels() {}

    /** Total number of weights of a preset (for progress bars). */
    public static long parameterCount(ModelPreset p) throws IOException {
        return parameterCount(p.architecture());
    }

    public static long parameterCount(ModelPreset.Architecture a) throws IOException {
        long n = 0;
        for (Component c : components(a)) for (Spec s : c.specs()) n += s.numel();
        return n;
    }

    /** Weights of the UNet alone. */
    public static long unetParameterCount(ModelPreset.Architecture a) throws IOException {
        long n = 0;
        for (Spec s : WeightSpecs.unet(UnetConfig.parse(a.unet(), Path.of("unet/config.json")))) n += s.numel();
        return n;
    }

    /** One folder of the model: its config.json, weight file and parameter list. */
    private record Component(String folder, ObjectNode config, String file, List<Spec> specs) {}

    /**
     * The parameter lists come from the configs through the same readers the converter uses
     * ({@link UnetConfig}, ...), so a preset's weights are by construction what its config says.
     */
    private static List<Component> components(ModelPreset.Architecture a) throws IOException {
        String w = "diffusion_pytorch_model.safetensors";
        ObjectNode tiny = a.tinyVae();
        int tinyChannels = tiny.get("encoder_block_out_channels").get(0).intValue();
        TaesdConfig tc = TaesdConfig.parse(tiny, Path.of(a.tinyVaeFolder(), "config.json"));
        List<Component> out = new java.util.ArrayList<>();
        out.add(new Component("text_encoder", a.textEncoder(), "model.safetensors",
                WeightSpecs.clipText(ClipTextConfig.parse(a.textEncoder(), Path.of("text_encoder/config.json")))));
        if (a.isSdxl()) {
            Path file = Path.of(SdxlTextEncoders.TEXT_ENCODER_2, "config.json");
            out.add(new Component(SdxlTextEncoders.TEXT_ENCODER_2, a.textEncoder2(), "model.safetensors",
                    SdxlTextEncoders.withProjection(ClipTextConfig.parse(a.textEncoder2(), file),
                            SdxlTextEncoders.projectionDim(a.textEncoder2(), file))));
        }
        out.addAll(List.of(
                new Component("unet", a.unet(), w, WeightSpecs.unet(UnetConfig.parse(a.unet(), Path.of("unet/config.json")))),
                new Component(a.vaeFolder(), a.vae(), w,
                        WeightSpecs.autoencoderKl(AutoencoderKlConfig.parse(a.vae(), Path.of(a.vaeFolder(), "config.json")))),
                new Component(a.tinyVaeFolder(), tiny, w, WeightSpecs.taesd(tinyChannels, tc.numEncoderBlocks(),
                        tc.numDecoderBlocks(), tc.latentChannels()))));
        return out;
    }

    /**
     * Writes the model into {@code dir} (created; must be empty or absent).
     *
     * @param progress receives the number of weights written so far (may be null)
     */
    public static void create(ModelPreset preset, long seed, Path dir, LongConsumer progress) throws IOException {
        create(preset.architecture(), preset.key(), seed, dir, progress);
    }

    /** Writes a model of any architecture (tests use scaled-down copies of the presets). */
    public static void create(ModelPreset.Architecture a, String name, long seed, Path dir, LongConsumer progress)
            throws IOException {
        requireEmptyTarget(dir);
        List<Component> components = components(a);
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        var pretty = json.writerWithDefaultPrettyPrinter();
        pretty.writeValue(dir.resolve("model_index.json").toFile(), modelIndex(json, a));
        Files.createDirectories(dir.resolve("scheduler"));
        pretty.writeValue(dir.resolve("scheduler/scheduler_config.json").toFile(), ModelPreset.schedulerConfig());
        ByteLevelTokenizer.write(dir.resolve("tokenizer"));
        if (a.isSdxl()) ByteLevelTokenizer.write(dir.resolve(SdxlTextEncoders.TOKENIZER_2), "!");

        long[] done = {0};
        for (Component component : components) {
            Path c = Files.createDirectories(dir.resolve(component.folder()));
            pretty.writeValue(c.resolve("config.json").toFile(), component.config());
            // seeded by the role, not the folder, so a layout change keeps the values
            String role = component.config() == a.tinyVae() ? "taesd" : component.config() == a.vae() ? "vae" : component.folder();
            long componentSeed = seed * 1_000_003L + role.hashCode();
            SafeTensors.write(c.resolve(component.file()), component.specs(), spec -> {
                float[] v = values(spec, componentSeed);
                done[0] += v.length;
                if (progress != null) progress.accept(done[0]);
                return v;
            }, Map.of("format", "pt"));
        }
        ObjectNode about = json.createObjectNode();
        about.put("created_by", "streamdiffusion4j models create");
        about.put("config", name);
        about.put("seed", seed);
        about.put("note", "random weights: images are coloured noise; for tests, demos and benchmarks");
        pretty.writeValue(dir.resolve("streamdiffusion4j.json").toFile(), about);
    }

    /** Total number of weights of a ControlNet preset. */
    public static long parameterCount(ControlNetPreset p) throws IOException {
        long n = 0;
        for (Spec s : controlNetSpecs(p)) n += s.numel();
        return n;
    }

    private static List<Spec> controlNetSpecs(ControlNetPreset p) throws IOException {
        return WeightSpecs.controlNet(ControlNetConfig.parse(p.config(), Path.of("config.json")));
    }

    /**
     * Writes a diffusers ControlNetModel folder (config.json, diffusion_pytorch_model.safetensors)
     * into {@code dir} (created; must be empty or absent). The weights follow the same rules as a
     * model's; the zero convs (controlnet_down_blocks, controlnet_mid_block, the conditioning
     * embedding's conv_out), which training starts at zero, are random like any conv here, so
     * the residuals are not zero and a random ControlNet changes the UNet's output.
     */
    public static void createControlNet(ControlNetPreset preset, long seed, Path dir, LongConsumer progress)
            throws IOException {
        requireEmptyTarget(dir);
        List<Spec> specs = controlNetSpecs(preset);
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        var pretty = json.writerWithDefaultPrettyPrinter();
        pretty.writeValue(dir.resolve("config.json").toFile(), preset.config());
        long componentSeed = seed * 1_000_003L + "controlnet".hashCode();
        long[] done = {0};
        SafeTensors.write(dir.resolve("diffusion_pytorch_model.safetensors"), specs, spec -> {
            float[] v = values(spec, componentSeed);
            done[0] += v.length;
            if (progress != null) progress.accept(done[0]);
            return v;
        }, Map.of("format", "pt"));
        ObjectNode about = json.createObjectNode();
        about.put("created_by", "streamdiffusion4j models create");
        about.put("config", preset.key());
        about.put("seed", seed);
        about.put("note", "random weights (zero convs included): for tests and benchmarks with " + preset.model().key());
        pretty.writeValue(dir.resolve("streamdiffusion4j.json").toFile(), about);
    }

    /** Weights of an IP-Adapter preset: image encoder and adapter (for progress bars). */
    public static long parameterCount(IpAdapterPreset p) throws IOException {
        long n = 0;
        for (Spec s : WeightSpecs.clipVision(p.imageEncoder())) n += s.numel();
        for (Spec s : ipAdapterSpecs(p)) n += s.numel();
        return n;
    }

    private static List<Spec> ipAdapterSpecs(IpAdapterPreset p) throws IOException {
        UnetConfig unet = UnetConfig.parse(p.base().architecture().unet(), Path.of("unet/config.json"));
        return WeightSpecs.ipAdapter(unet, p.imageEncoder().projectionDim(), p.tokens());
    }

    /**
     * Writes an IP-Adapter with random weights into {@code dir} (created; must be empty or absent)
     * in the {@link IpAdapterFolder} layout: {@code image_encoder/} and {@code ip-adapter.safetensors}.
     * The same rules as the models' weights, so the image tokens' keys and values are of the
     * prompt's size and the adapter visibly changes the picture.
     */
    public static void create(IpAdapterPreset preset, long seed, Path dir, LongConsumer progress) throws IOException {
        requireEmptyTarget(dir);
        ObjectMapper json = new ObjectMapper();
        var pretty = json.writerWithDefaultPrettyPrinter();
        Path encoder = Files.createDirectories(dir.resolve(IpAdapterFolder.IMAGE_ENCODER));
        pretty.writeValue(encoder.resolve("config.json").toFile(), preset.imageEncoder().toJson());
        long[] done = {0};
        LongConsumer counted = n -> {
            done[0] += n;
            if (progress != null) progress.accept(done[0]);
        };
        long encoderSeed = seed * 1_000_003L + "image_encoder".hashCode();
        SafeTensors.write(encoder.resolve("model.safetensors"), WeightSpecs.clipVision(preset.imageEncoder()), spec -> {
            float[] v = values(spec, encoderSeed);
            counted.accept(v.length);
            return v;
        }, Map.of("format", "pt"));
        long adapterSeed = seed * 1_000_003L + "ip_adapter".hashCode();
        SafeTensors.write(dir.resolve(IpAdapterFolder.WEIGHTS), ipAdapterSpecs(preset), spec -> {
            float[] v = values(spec, adapterSeed);
            counted.accept(v.length);
            return v;
        }, Map.of("format", "pt"));
        ObjectNode about = json.createObjectNode();
        about.put("created_by", "streamdiffusion4j models create");
        about.put("config", preset.key());
        about.put("base_model", preset.base().key());
        about.put("seed", seed);
        about.put("note", "random weights: an IP-Adapter for tests and benchmarks");
        pretty.writeValue(dir.resolve("streamdiffusion4j.json").toFile(), about);
    }

    private static ObjectNode modelIndex(ObjectMapper json, ModelPreset.Architecture a) {
        ObjectNode n = json.createObjectNode();
        n.put("_class_name", a.isSdxl() ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline");
        n.put("_diffusers_version", "0.24.0");
        n.putArray("scheduler").add("diffusers").add("EulerDiscreteScheduler");
        n.putArray("text_encoder").add("transformers").add("CLIPTextModel");
        n.putArray("tokenizer").add("transformers").add("CLIPTokenizer");
        if (a.isSdxl()) {
            n.putArray(SdxlTextEncoders.TEXT_ENCODER_2).add("transformers").add("CLIPTextModelWithProjection");
            n.putArray(SdxlTextEncoders.TOKENIZER_2).add("transformers").add("CLIPTokenizer");
            // sdxl-turbo's model_index.json: an absent negative prompt is a zero embedding, not the encoded ""
            n.put("force_zeros_for_empty_prompt", true);
        }
        n.putArray("unet").add("diffusers").add("UNet2DConditionModel");
        n.putArray("vae").add("diffusers").add(a.tinyVaeIsVae() ? "AutoencoderTiny" : "AutoencoderKL");
        if (!a.isSdxl()) {
            n.putArray("safety_checker").addNull().addNull();
            n.putArray("feature_extractor").addNull().addNull();
            n.put("requires_safety_checker", false);
        }
        return n;
    }

    /**
     * Residual branches end in a layer scaled down by this factor: a resnet's {@code conv2}, an
     * attention's {@code to_out}, a feed-forward's last linear, a transformer's {@code proj_out}, a
     * TAESD block's last conv. Each residual block then adds a small update to its input instead of
     * a unit-variance one, so the stream's scale does not grow with depth (dozens of blocks in a
     * full-size UNet or VAE decoder), which is what trained networks look like and what the
     * zero / small init of residual outputs used in practice gives (Fixup, ReZero, diffusers' own
     * zero-initialised proj_out in ControlNet). Without it full-size random models saturated: 70-79%
     * of output values clamped.
     */
    static final double RESIDUAL_GAIN = 0.1;

    /**
     * TAESD's image output layer is scaled so a random decoder's pixels spread around mid-grey
     * (std about a quarter of the range, like natural images) instead of past both ends.
     */
    static final double IMAGE_GAIN = 0.05;

    /** The values of one tensor: seeded by the model seed and the tensor's name, so order does not matter. */
    static float[] values(Spec spec, long componentSeed) {
        String name = spec.name();
        int[] shape = spec.shape();
        float[] out = new float[Math.toIntExact(spec.numel())];
        if (shape.length == 1) {
            boolean normScale = name.endsWith(".weight") && (name.contains("norm"));
            if (normScale) {
                java.util.Arrays.fill(out, 1f);
                return out;
            }
            if (isTaesdImageOutput(name, shape) && name.endsWith(".bias")) {
                // TAESD's decoder outputs [0, 1] (mapped to [-1, 1] after); a zero-centred output
                // would put half of all pixels at black. Centre it at mid-grey, where a trained one averages.
                java.util.Arrays.fill(out, 0.5f);
                return out;
            }
        }
        double std;
        if (name.contains("embedding") && !name.startsWith("controlnet_cond_embedding.")) {
            std = 0.5;
        } else if (shape.length >= 2) {
            long fanIn = 1;
            for (int i = 1; i < shape.length; i++) fanIn *= shape[i];
            std = 1.0 / Math.sqrt(fanIn);
            // TAESD has no normalisation: its ReLU chains keep their scale only with He's gain
            // (a ReLU halves the second moment); without it the latents came out 15x too small
            if (isTaesd(name)) std *= Math.sqrt(2);
            if (isResidualOutput(name)) std *= RESIDUAL_GAIN;
            if (isTaesdImageOutput(name, shape)) std *= IMAGE_GAIN;
        } else {
            std = 0.02; // biases and norm shifts
        }
        long tensorSeed = componentSeed * 31 + name.hashCode();
        double scale = std;
        int chunks = (out.length + CHUNK - 1) / CHUNK;
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom r = new SplittableRandom(tensorSeed * 1_000_003L + c);
            int from = c * CHUNK;
            int to = Math.min(out.length, from + CHUNK);
            for (int i = from; i < to; i++) out[i] = (float) (r.nextGaussian() * scale);
        });
        return out;
    }

    private static boolean isResidualOutput(String name) {
        return name.endsWith(".conv2.weight") || name.contains(".to_out.0.") || name.endsWith(".ff.net.2.weight")
                || name.endsWith(".proj_out.weight") || name.endsWith(".self_attn.out_proj.weight")
                || name.endsWith(".mlp.fc2.weight") || name.endsWith(".conv.4.weight");
    }

    /** TAESD's weights are the only ones named {@code encoder.layers.N} / {@code decoder.layers.N}. */
    private static boolean isTaesd(String name) {
        return name.startsWith("encoder.layers.") || name.startsWith("decoder.layers.");
    }

    /** TAESD's last decoder conv, the one with the 3 image channels. */
    private static boolean isTaesdImageOutput(String name, int[] shape) {
        return name.startsWith("decoder.layers.") && shape[0] == 3;
    }

    /** A target folder must be absent or empty: nothing a user has is overwritten. */
    private static void requireEmptyTarget(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            try (var s = Files.list(dir)) {
                if (s.findAny().isPresent()) throw new IOException("target folder is not empty: " + dir);
            }
        }
    }
}
