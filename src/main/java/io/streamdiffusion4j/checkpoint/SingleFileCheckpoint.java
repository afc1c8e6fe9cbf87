package io.streamdiffusion4j.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An original Stable Diffusion checkpoint in one {@code .safetensors} file (the format of the
 * CompVis / RunwayML releases and of most fine-tunes shared as one file), turned into a diffusers
 * folder that the converter reads: the weights are renamed ({@link LdmNames}, with the block
 * layout of the configuration's {@code unet/config.json}) and written per
 * component in their stored precision, and the configuration — which a single file does not
 * carry — comes from a diffusers repository of the same architecture ({@link Base#configRepo}):
 * its {@code model_index.json}, scheduler, tokenizer and component {@code config.json} files.
 * This is about the file format only; fetching the configuration repository is the caller's
 * ({@code convert.ModelStore} through {@code hub}).
 *
 * <p>Supported: SD 1.x (CLIP ViT-L text encoder under {@code cond_stage_model.transformer.}) and
 * SDXL in Stability's SGM layout ({@code sd_xl_turbo_1.0.safetensors}, ...: CLIP ViT-L under
 * {@code conditioner.embedders.0.transformer.}, OpenCLIP ViT-bigG under
 * {@code conditioner.embedders.1.model.}, which becomes {@code text_encoder_2/} by
 * {@link LdmNames#openClipText}; its configuration, with {@code text_encoder_2/} and
 * {@code tokenizer_2/}, comes from stabilityai/sdxl-turbo). SD 2.x (OpenCLIP,
 * {@code cond_stage_model.model.}) is recognised and refused with a clear message; its diffusers
 * repositories work.
 */
public final class SingleFileCheckpoint {
    private static final String UNET = LdmNames.UNET;
    private static final String VAE = LdmNames.VAE;
    private static final String TEXT = LdmNames.TEXT;
    /** SDXL's second text encoder's diffusers folder. */
    private static final String SDXL_TEXT_2 = "text_encoder_2";

    /** An architecture whose configuration a single file can borrow. */
    public enum Base {
        SD1("Stable Diffusion 1.x", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
        /** SDXL (SGM names); sdxl-turbo's configuration is SDXL 1.0 base's but for the scheduler. */
        SDXL("Stable Diffusion XL", "stabilityai/sdxl-turbo");

        private final String label;
        private final String configRepo;

        Base(String label, String configRepo) {
            this.label = label;
            this.configRepo = configRepo;
        }

        public String label() {
            return label;
        }

        /** The Hub repository whose configuration files (no weights) complete the checkpoint. */
        public String configRepo() {
            return configRepo;
        }
    }

    private SingleFileCheckpoint() {}

    /** The architecture of a checkpoint, from its tensor names; a clear error for files that are not one. */
    public static Base detect(Path checkpoint) throws IOException {
        try (SafeTensors st = SafeTensors.open(checkpoint)) {
            return detect(checkpoint, st.names());
        }
    }

    static Base detect(Path file, Set<String> names) throws IOException {
        if (hasPrefix(names, LdmNames.SGM_CONDITIONER)) {
            for (String[] need : new String[][] {{UNET, "UNet"}, {LdmNames.SGM_TEXT, "CLIP ViT-L text encoder"},
                    {LdmNames.SGM_TEXT_2, "OpenCLIP ViT-bigG text encoder"}, {VAE, "VAE"}}) {
                if (!hasPrefix(names, need[0])) {
                    throw new IOException(file + " is an SDXL checkpoint (conditioner.embedders.*) without " + need[1]
                            + " weights (" + need[0] + "*), which an SDXL checkpoint has"
                            + (need[0].equals(VAE) ? "; checkpoints without a baked-in VAE are not supported" : ""));
                }
            }
            return Base.SDXL;
        }
        if (hasPrefix(names, LdmNames.OPENCLIP_TEXT)) {
            throw new IOException(file + " is a Stable Diffusion 2.x checkpoint (OpenCLIP text encoder,"
                    + " cond_stage_model.model.*); single-file SD 2.x is not supported yet: use its diffusers repository"
                    + " (for example stabilityai/stable-diffusion-2-1-base or stabilityai/sd-turbo)");
        }
        if (!hasPrefix(names, UNET)) {
            boolean lora = names.stream().anyMatch(n -> n.startsWith("lora_") || n.contains(".lora_down.")
                    || n.contains(".lora_A.") || n.contains(".lora.down."));
            if (lora) throw new IOException(file + " is a LoRA, not a model: pass it with --lora");
            throw new IOException(file + " is not an original Stable Diffusion checkpoint: it has no UNet weights ("
                    + UNET + "*); its first tensors: " + String.join(", ", names.stream().sorted().limit(5).toList()));
        }
        if (!hasPrefix(names, TEXT)) {
            throw new IOException(file + " has no CLIP text encoder weights (" + TEXT + "*), which a Stable Diffusion"
                    + " 1.x checkpoint has");
        }
        if (!hasPrefix(names, VAE)) {
            throw new IOException(file + " has no VAE weights (" + VAE + "*); checkpoints without a baked-in VAE are"
                    + " not supported");
        }
        return Base.SD1;
    }

    /** One tensor to write: where it comes from, its diffusers name, shape and stored precision. */
    private record Renamed(String source, String target, int[] shape, DType dtype, LdmNames.Take take) {}

    /**
     * Writes a diffusers folder ({@code model_index.json, scheduler/, tokenizer/, text_encoder/,
     * unet/, vae/}) into {@code out} (created; must be empty or absent).
     *
     * @param config a diffusers folder with the configuration files of the checkpoint's architecture
     */
    public static void toDiffusers(Path checkpoint, Path config, Path out) throws IOException {
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) throw new IOException("target folder is not empty: " + out);
            }
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode unetConfig = readConfig(json, config.resolve("unet/config.json"));
        JsonNode vaeConfig = readConfig(json, config.resolve("vae/config.json"));
        JsonNode textConfig = readConfig(json, config.resolve("text_encoder/config.json"));
        Path text2File = config.resolve(SDXL_TEXT_2 + "/config.json");
        JsonNode text2Config = Files.exists(text2File) ? readConfig(json, text2File) : null;
        UnetLayout layout = UnetLayout.fromConfig(unetConfig, config.resolve("unet/config.json"));
        LdmNames names = new LdmNames(layout);
        int vaeBlocks = vaeConfig.path("block_out_channels").size();
        if (vaeBlocks == 0) throw new IOException(config.resolve("vae/config.json") + ": expected 'block_out_channels'");

        try (SafeTensors st = SafeTensors.open(checkpoint)) {
            Base base = detect(checkpoint, st.names());
            boolean sdxl = base == Base.SDXL;
            if (sdxl != layout.addEmbedding() || sdxl != (text2Config != null)) {
                throw new IOException(checkpoint + " is a " + base.label() + " checkpoint, but the configuration in " + config
                        + (sdxl ? " is not SDXL's (it needs unet addition_embed_type text_time and text_encoder_2/config.json)"
                        : " is SDXL's"));
            }
            String text = sdxl ? LdmNames.SGM_TEXT : TEXT;
            Map<String, List<Renamed>> parts = new LinkedHashMap<>();
            parts.put("unet", new ArrayList<>());
            parts.put("vae", new ArrayList<>());
            parts.put("text_encoder", new ArrayList<>());
            if (sdxl) parts.put(SDXL_TEXT_2, new ArrayList<>());
            List<String> unmapped = new ArrayList<>();
            Map<String, String> seen = new HashMap<>();
            for (String key : st.names()) {
                String component;
                String target;
                if (key.startsWith(UNET)) {
                    component = "unet";
                    target = names.unet(key.substring(UNET.length()));
                } else if (key.startsWith(VAE)) {
                    String k = key.substring(VAE.length());
                    if (k.startsWith("loss.")) continue;   // training-time discriminator, not part of the model
                    component = "vae";
                    target = LdmNames.vae(k, vaeBlocks);
                } else if (key.startsWith(text)) {
                    component = "text_encoder";
                    target = LdmNames.text(key.substring(text.length()));
                    if (target == null) continue;   // position_ids: a buffer, not a weight
                } else if (sdxl && key.startsWith(LdmNames.SGM_TEXT_2)) {
                    List<LdmNames.OpenClipTarget> targets = LdmNames.openClipText(key.substring(LdmNames.SGM_TEXT_2.length()));
                    if (targets == null) {
                        unmapped.add(key);
                        continue;
                    }
                    SafeTensors.Entry e = st.entry(key);
                    for (LdmNames.OpenClipTarget t : targets) {
                        String previous = seen.put(SDXL_TEXT_2 + "/" + t.name(), key);
                        if (previous != null) {
                            throw new IOException(checkpoint + ": tensors '" + previous + "' and '" + key + "' both map to "
                                    + SDXL_TEXT_2 + " weight '" + t.name() + "'");
                        }
                        parts.get(SDXL_TEXT_2).add(new Renamed(key, t.name(), openClipShape(checkpoint, key, e.shape(), t.take()),
                                storedType(checkpoint, key, e.dtype()), t.take()));
                    }
                    continue;
                } else {
                    continue;   // EMA copies, the DDPM schedule buffers (betas, alphas_cumprod, ...)
                }
                if (target == null) {
                    unmapped.add(key);
                    continue;
                }
                String previous = seen.put(component + "/" + target, key);
                if (previous != null) {
                    throw new IOException(checkpoint + ": tensors '" + previous + "' and '" + key + "' both map to " + component
                            + " weight '" + target + "'");
                }
                SafeTensors.Entry e = st.entry(key);
                int[] shape = e.shape();
                if (component.equals("vae") && LdmNames.isVaeAttentionMatrix(target)) shape = asMatrix(checkpoint, key, shape);
                parts.get(component).add(new Renamed(key, target, shape, storedType(checkpoint, key, e.dtype()),
                        LdmNames.Take.WHOLE));
            }
            if (!unmapped.isEmpty()) {
                throw new IOException(checkpoint + ": " + unmapped.size() + " tensors do not fit the " + base.label()
                        + " layout (UNet " + layout + ", from " + config.resolve("unet/config.json") + "): "
                        + String.join(", ", unmapped.stream().sorted().limit(6).toList()) + (unmapped.size() > 6 ? ", ..." : ""));
            }
            checkFits(checkpoint, config, parts, unetConfig, vaeConfig, textConfig, text2Config);

            Files.createDirectories(out);
            copyConfig(config, out, sdxl);
            write(st, parts.get("unet"), out.resolve("unet/diffusion_pytorch_model.safetensors"));
            write(st, parts.get("vae"), out.resolve("vae/diffusion_pytorch_model.safetensors"));
            write(st, parts.get("text_encoder"), out.resolve("text_encoder/model.safetensors"));
            if (sdxl) write(st, parts.get(SDXL_TEXT_2), out.resolve(SDXL_TEXT_2 + "/model.safetensors"));
            ObjectNode about = json.createObjectNode();
            about.put("created_by", "streamdiffusion4j single-file checkpoint");
            about.put("checkpoint", checkpoint.toAbsolutePath().toString());
            about.put("architecture", base.label());
            about.put("configuration", config.toAbsolutePath().toString());
            json.writerWithDefaultPrettyPrinter().writeValue(out.resolve("streamdiffusion4j.json").toFile(), about);
        }
    }

    /** The shapes that tell an architecture apart, against the configuration the checkpoint is to be read with. */
    private static void checkFits(Path checkpoint, Path config, Map<String, List<Renamed>> parts, JsonNode unet,
                                  JsonNode vae, JsonNode text, JsonNode text2) throws IOException {
        int[] unetIn = shape(parts.get("unet"), "conv_in.weight");
        int[] unetCross = null;   // the first cross-attention (SDXL's first block has none)
        for (Renamed r : parts.get("unet")) {
            if (r.target().endsWith(".attn2.to_k.weight")) {
                unetCross = r.shape();
                break;
            }
        }
        int[] tokens = shape(parts.get("text_encoder"), "text_model.embeddings.token_embedding.weight");
        int[] vaeIn = shape(parts.get("vae"), "encoder.conv_in.weight");
        String where = checkpoint + " does not fit the configuration in " + config + ": ";
        if (unetIn == null || tokens == null || vaeIn == null) {
            throw new IOException(checkpoint + " lacks " + (unetIn == null ? "the UNet's conv_in" : tokens == null
                    ? "the text encoder's token embedding" : "the VAE encoder's conv_in") + " weight");
        }
        expect(where, "UNet input channels (conv_in)", unetIn[1], unet.path("in_channels").asInt(4),
                unetIn[1] == 9 ? " (an inpainting model)" : "");
        expect(where, "UNet first block width", unetIn[0], unet.path("block_out_channels").path(0).asInt(-1), "");
        if (unetCross != null) {
            expect(where, "UNet cross-attention width", unetCross[1], unet.path("cross_attention_dim").asInt(-1), "");
        }
        expect(where, "text encoder width", tokens[1], text.path("hidden_size").asInt(-1), "");
        expect(where, "VAE first block width", vaeIn[0], vae.path("block_out_channels").path(0).asInt(-1), "");
        if (text2 != null) {
            int[] tokens2 = shape(parts.get(SDXL_TEXT_2), "text_model.embeddings.token_embedding.weight");
            int[] projection = shape(parts.get(SDXL_TEXT_2), "text_projection.weight");
            if (tokens2 == null || projection == null) {
                throw new IOException(checkpoint + " lacks the OpenCLIP text encoder's " + (tokens2 == null
                        ? "token embedding" : "text projection") + " (" + LdmNames.SGM_TEXT_2
                        + (tokens2 == null ? "token_embedding.weight)" : "text_projection)"));
            }
            expect(where, "second text encoder width", tokens2[1], text2.path("hidden_size").asInt(-1), "");
            expect(where, "second text encoder projection width", projection[0], text2.path("projection_dim").asInt(-1), "");
            expect(where, "second text encoder layers (transformer.resblocks.*)", layers(parts.get(SDXL_TEXT_2)),
                    text2.path("num_hidden_layers").asInt(-1), "");
        }
    }

    /** The number of encoder layers of a text encoder's tensors. */
    private static int layers(List<Renamed> part) {
        int n = 0;
        for (Renamed r : part) {
            String prefix = "text_model.encoder.layers.";
            if (!r.target().startsWith(prefix)) continue;
            String rest = r.target().substring(prefix.length());
            n = Math.max(n, Integer.parseInt(rest.substring(0, rest.indexOf('.'))) + 1);
        }
        return n;
    }

    /** The shape of a transformers tensor taken from an OpenCLIP one. */
    private static int[] openClipShape(Path checkpoint, String key, int[] shape, LdmNames.Take take) throws IOException {
        switch (take) {
            case WHOLE:
                return shape;
            case TRANSPOSED:
                if (shape.length != 2) {
                    throw new IOException(checkpoint + ": tensor '" + key + "' should be a matrix [width, projection], found "
                            + Arrays.toString(shape));
                }
                return new int[] {shape[1], shape[0]};
            default:
                if (shape.length == 0 || shape[0] % 3 != 0) {
                    throw new IOException(checkpoint + ": tensor '" + key + "' should stack q, k and v (first dimension a"
                            + " multiple of 3), found " + Arrays.toString(shape));
                }
                int[] third = shape.clone();
                third[0] /= 3;
                return third;
        }
    }

    /** The values of a transformers tensor taken from the OpenCLIP tensor's values (row-major). */
    private static float[] take(float[] source, int[] targetShape, LdmNames.Take take) {
        int n = 1;
        for (int d : targetShape) n *= d;
        return switch (take) {
            case WHOLE -> source;
            case FIRST_THIRD -> Arrays.copyOfRange(source, 0, n);
            case SECOND_THIRD -> Arrays.copyOfRange(source, n, 2 * n);
            case LAST_THIRD -> Arrays.copyOfRange(source, 2 * n, 3 * n);
            case TRANSPOSED -> {
                int rows = targetShape[0];   // the source's columns
                int cols = targetShape[1];   // the source's rows
                float[] t = new float[n];
                for (int i = 0; i < cols; i++) {
                    for (int j = 0; j < rows; j++) t[j * cols + i] = source[i * rows + j];
                }
                yield t;
            }
        };
    }

    private static void expect(String where, String what, int found, int expected, String hint) throws IOException {
        if (found != expected) {
            throw new IOException(where + what + " is " + found + " in the checkpoint, " + expected
                    + " in the configuration" + hint);
        }
    }

    private static int[] shape(List<Renamed> part, String name) {
        for (Renamed r : part) if (r.target().equals(name)) return r.shape();
        return null;
    }

    private static int[] asMatrix(Path checkpoint, String key, int[] shape) throws IOException {
        if (shape.length == 2) return shape;
        if (shape.length == 4 && shape[2] == 1 && shape[3] == 1) return new int[] {shape[0], shape[1]};
        throw new IOException(checkpoint + ": tensor '" + key + "' should be a 1x1 convolution [out, in, 1, 1], found "
                + Arrays.toString(shape));
    }

    private static DType storedType(Path checkpoint, String key, DType t) throws IOException {
        return switch (t) {
            case F32, F16, BF16 -> t;
            case F64 -> DType.F32;
            default -> throw new IOException(checkpoint + ": tensor '" + key + "' is " + t + ", expected a float type");
        };
    }

    private static void write(SafeTensors st, List<Renamed> tensors, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Map<String, Renamed> sources = new HashMap<>();
        List<SafeTensors.Spec> specs = new ArrayList<>();
        for (Renamed r : tensors) {
            specs.add(new SafeTensors.Spec(r.target(), r.dtype(), r.shape()));
            sources.put(r.target(), r);
        }
        try {
            SafeTensors.write(file, specs, spec -> {
                try {
                    Renamed r = sources.get(spec.name());
                    return take(st.floats(r.source()), r.shape(), r.take());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, Map.of("format", "pt"));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static void copyConfig(Path config, Path out, boolean sdxl) throws IOException {
        List<String> files = new ArrayList<>(List.of("model_index.json", "scheduler/scheduler_config.json",
                "text_encoder/config.json", "unet/config.json", "vae/config.json"));
        if (sdxl) files.add(SDXL_TEXT_2 + "/config.json");
        for (String f : files) {
            Path target = out.resolve(f);
            Files.createDirectories(target.getParent());
            Files.copy(config.resolve(f), target);
        }
        copyTokenizer(config, out, "tokenizer");
        if (sdxl) copyTokenizer(config, out, "tokenizer_2");
    }

    private static void copyTokenizer(Path config, Path out, String folder) throws IOException {
        Path tokenizer = config.resolve(folder);
        if (!Files.isDirectory(tokenizer)) throw new IOException(config + " has no " + folder + "/ folder");
        Files.createDirectories(out.resolve(folder));
        try (Stream<Path> s = Files.list(tokenizer)) {
            for (Path p : s.toList()) {
                if (Files.isRegularFile(p)) Files.copy(p, out.resolve(folder).resolve(p.getFileName().toString()));
            }
        }
    }

    private static JsonNode readConfig(ObjectMapper json, Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("configuration file not found: " + file);
        JsonNode n = json.readTree(file.toFile());
        if (n == null || !n.isObject()) throw new IOException(file + ": expected a JSON object");
        return n;
    }

    private static boolean hasPrefix(Set<String> names, String prefix) {
        for (String n : names) if (n.startsWith(prefix)) return true;
        return false;
    }
}
