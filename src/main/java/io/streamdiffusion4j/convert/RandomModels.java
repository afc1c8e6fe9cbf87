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
 * {@code taesd/}. The same preset and seed give the same files, byte for byte.
 *
 * <p>Weights are drawn so activations stay in a useful range however deep the model: matrices
 * and kernels N(0, 1/fan_in) (unit gain, like Kaiming's rule for linear layers), normalisation
 * scales 1, biases and embeddings small. The pictures such a model makes are coloured noise;
 * what matters is that every operation runs at the real size and stays finite.
 */
public final class RandomModels {
    private static final int CHUNK = 1 << 20;

    private RandomModels() {}

    /** Total number of weights of a preset (for progress bars). */
    public static long parameterCount(ModelPreset p) {
        long n = 0;
        for (List<Spec> specs : specs(p).values()) for (Spec s : specs) n += s.numel();
        return n;
    }

    private static Map<String, List<Spec>> specs(ModelPreset p) {
        return Map.of(
                "unet", WeightSpecs.unet(p.unetSpec()),
                "text_encoder", WeightSpecs.clipText(p.vocab, 77, p.textHidden, p.textIntermediate, p.textLayers),
                "vae", WeightSpecs.autoencoderKl(p.vaeChannels, 2, 4),
                "taesd", WeightSpecs.taesd(p.taesdChannels, new int[] {1, 3, 3, 3}, new int[] {3, 3, 3, 1}, 4));
    }

    /**
     * Writes the model into {@code dir} (created; must be empty or absent).
     *
     * @param progress receives the number of weights written so far (may be null)
     */
    public static void create(ModelPreset preset, long seed, Path dir, LongConsumer progress) throws IOException {
        if (Files.isDirectory(dir)) {
            try (var s = Files.list(dir)) {
                if (s.findAny().isPresent()) throw new IOException("target folder is not empty: " + dir);
            }
        }
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        var pretty = json.writerWithDefaultPrettyPrinter();
        pretty.writeValue(dir.resolve("model_index.json").toFile(), modelIndex(json));
        Files.createDirectories(dir.resolve("scheduler"));
        pretty.writeValue(dir.resolve("scheduler/scheduler_config.json").toFile(), ModelPreset.schedulerConfig());
        ByteLevelTokenizer.write(dir.resolve("tokenizer"));

        Map<String, List<Spec>> specs = specs(preset);
        Map<String, ObjectNode> configs = Map.of("unet", preset.unetConfig(), "text_encoder", preset.textConfig(),
                "vae", preset.vaeConfig(), "taesd", preset.taesdConfig());
        long[] done = {0};
        for (String component : List.of("text_encoder", "unet", "vae", "taesd")) {
            Path c = Files.createDirectories(dir.resolve(component));
            pretty.writeValue(c.resolve("config.json").toFile(), configs.get(component));
            String file = component.equals("text_encoder") ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
            long componentSeed = seed * 1_000_003L + component.hashCode();
            SafeTensors.write(c.resolve(file), specs.get(component), spec -> {
                float[] v = values(spec, componentSeed);
                done[0] += v.length;
                if (progress != null) progress.accept(done[0]);
                return v;
            }, Map.of("format", "pt"));
        }
        ObjectNode about = json.createObjectNode();
        about.put("created_by", "streamdiffusion4j models create");
        about.put("config", preset.key());
        about.put("seed", seed);
        about.put("note", "random weights: images are coloured noise; for tests, demos and benchmarks");
        pretty.writeValue(dir.resolve("streamdiffusion4j.json").toFile(), about);
    }

    private static ObjectNode modelIndex(ObjectMapper json) {
        ObjectNode n = json.createObjectNode();
        n.put("_class_name", "StableDiffusionPipeline");
        n.put("_diffusers_version", "0.24.0");
        n.putArray("scheduler").add("diffusers").add("EulerDiscreteScheduler");
        n.putArray("text_encoder").add("transformers").add("CLIPTextModel");
        n.putArray("tokenizer").add("transformers").add("CLIPTokenizer");
        n.putArray("unet").add("diffusers").add("UNet2DConditionModel");
        n.putArray("vae").add("diffusers").add("AutoencoderKL");
        n.putArray("safety_checker").addNull().addNull();
        n.putArray("feature_extractor").addNull().addNull();
        n.put("requires_safety_checker", false);
        return n;
    }

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
        }
        double std;
        if (name.contains("embedding")) {
            std = 0.5;
        } else if (shape.length >= 2) {
            long fanIn = 1;
            for (int i = 1; i < shape.length; i++) fanIn *= shape[i];
            std = 1.0 / Math.sqrt(fanIn);
        } else {
            std = 0.02; // biases and norm shifts
        }
        long tensorSeed = componentSeed * 31 + name.hashCode();
        int chunks = (out.length + CHUNK - 1) / CHUNK;
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom r = new SplittableRandom(tensorSeed * 1_000_003L + c);
            int from = c * CHUNK;
            int to = Math.min(out.length, from + CHUNK);
            for (int i = from; i < to; i++) out[i] = (float) (r.nextGaussian() * std);
        });
        return out;
    }
}
