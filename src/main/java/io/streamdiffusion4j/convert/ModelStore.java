package io.streamdiffusion4j.convert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Turns what a user names with {@code --model} / {@code --taesd} into ONNX folders the pipeline
 * loads, converting and caching as needed:
 * <ul>
 *   <li>{@code tiny}: the built-in tiny model (random weights, own tokenizer, TAESD), created
 *       on first use, so every command runs offline;</li>
 *   <li>a folder in Optimum's ONNX layout: used as it is;</li>
 *   <li>a diffusers folder (safetensors): converted once into the cache, keyed by the digest of
 *       its files (and the LoRAs and precision), then reused.</li>
 * </ul>
 * A TAESD may be an ONNX folder or a diffusers AutoencoderTiny folder. Without {@code --taesd},
 * a model folder's own {@code taesd/} (the built-in and created models have one) is used.
 *
 * <p>The cache lives in the {@code streamdiffusion4j.cache} system property's folder, else
 * {@code $STREAMDIFFUSION4J_CACHE}, else
 * {@code $XDG_CACHE_HOME/streamdiffusion4j}, else {@code ~/.cache/streamdiffusion4j}.
 */
public final class ModelStore {
    /** Bump when the built-in model or the converter's output changes, so caches are rebuilt. */
    static final String FORMAT = "v1";
    public static final String BUILT_IN_TINY = "tiny";

    private final Path root;

    public ModelStore(Path root) {
        this.root = root;
    }

    public static ModelStore defaultStore() {
        String prop = System.getProperty("streamdiffusion4j.cache");
        if (prop != null && !prop.isBlank()) return new ModelStore(Path.of(prop));
        String env = System.getenv("STREAMDIFFUSION4J_CACHE");
        if (env != null && !env.isBlank()) return new ModelStore(Path.of(env));
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new ModelStore(base.resolve("streamdiffusion4j"));
    }

    public Path root() {
        return root;
    }

    /** The ONNX folders to load and where they came from. */
    public record Resolved(Path model, Path taesd, String description) {}

    /**
     * @param taesd the user's TAESD, or null to use the model's own {@code taesd/} if it has one
     */
    public Resolved resolve(String model, String taesd, DiffusersConverter.Options options,
                            DiffusersConverter.Progress progress) throws IOException {
        Path onnx = resolveModel(model, options, progress);
        Path tiny = null;
        if (taesd != null) {
            tiny = resolveTaesd(Path.of(taesd), options.half(), progress);
        } else if (Files.isRegularFile(onnx.resolve("taesd/vae_encoder/model.onnx"))) {
            tiny = onnx.resolve("taesd");
        }
        return new Resolved(onnx, tiny, model);
    }

    Path resolveModel(String model, DiffusersConverter.Options options, DiffusersConverter.Progress progress)
            throws IOException {
        if (model.toLowerCase(Locale.ROOT).equals(BUILT_IN_TINY) && !Files.exists(Path.of(model))) {
            return builtInTiny(progress);
        }
        Path dir = Path.of(model);
        if (!Files.exists(dir)) {
            throw new IOException("model not found: " + model + " (give a model folder, or 'tiny' for the built-in model)");
        }
        if (Files.isRegularFile(dir.resolve("unet/model.onnx"))) {
            if (!options.loras().isEmpty() || options.half()) {
                throw new IOException(dir + " is already an ONNX model; LoRAs and --fp16 apply when converting a diffusers folder");
            }
            return dir;
        }
        if (DiffusersConverter.isDiffusersFolder(dir)) return converted(dir, options, progress);
        throw new IOException(dir + " is neither an ONNX model folder (unet/model.onnx) nor a diffusers folder"
                + " (model_index.json, unet/config.json)");
    }

    Path resolveTaesd(Path dir, boolean half, DiffusersConverter.Progress progress) throws IOException {
        if (!Files.exists(dir)) throw new IOException("TAESD folder not found: " + dir);
        if (Files.isRegularFile(dir.resolve("vae_encoder/model.onnx"))) return dir;
        if (DiffusersConverter.isTaesdFolder(dir)) {
            ContentDigest digest = new ContentDigest(root.resolve("digests.json"));
            String key = digest.folder(dir).substring(0, 24) + (half ? "-fp16" : "-fp32");
            digest.save();
            Path target = root.resolve("converted").resolve("taesd-" + key);
            if (!Files.isRegularFile(target.resolve("vae_decoder/model.onnx"))) {
                DiffusersConverter.convertTaesd(dir, target, half, progress);
            }
            return target;
        }
        throw new IOException(dir + " is neither a TAESD ONNX folder (vae_encoder/, vae_decoder/) nor a diffusers"
                + " AutoencoderTiny folder");
    }

    private Path converted(Path dir, DiffusersConverter.Options options, DiffusersConverter.Progress progress)
            throws IOException {
        ContentDigest digest = new ContentDigest(root.resolve("digests.json"));
        StringBuilder key = new StringBuilder(FORMAT).append('|').append(digest.folder(dir))
                .append('|').append(options.half() ? "fp16" : "fp32");
        for (LoraMerge.LoraFile l : options.loras()) {
            key.append('|').append(digest.file(l.file())).append(':').append(l.scale());
        }
        digest.save();
        Path target = root.resolve("converted").resolve(ContentDigest.sha256(key.toString()).substring(0, 32));
        if (Files.isRegularFile(target.resolve("unet/model.onnx"))) return target;
        try {
            DiffusersConverter.convert(dir, target, options, progress);
        } catch (IOException e) {
            if (!Files.isRegularFile(target.resolve("unet/model.onnx"))) throw e;
        }
        return target;
    }

    /** The built-in tiny model, created (random weights, seed 0) and converted on first use. */
    public Path builtInTiny(DiffusersConverter.Progress progress) throws IOException {
        Path base = root.resolve("builtin").resolve("tiny-" + FORMAT);
        Path onnx = base.resolve("onnx");
        if (Files.isRegularFile(onnx.resolve("unet/model.onnx"))) return onnx;
        Path source = base.resolve("diffusers");
        if (!Files.isRegularFile(source.resolve("streamdiffusion4j.json"))) {
            DiffusersConverter.deleteTree(source);
            Files.createDirectories(base);
            Path tmp = Files.createTempDirectory(base, ".diffusers.partial-");
            try {
                RandomModels.create(ModelPreset.TINY, 0, tmp, null);
            } catch (IOException | RuntimeException e) {
                DiffusersConverter.deleteTree(tmp);
                throw e;
            }
            try {
                Files.move(tmp, source, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                DiffusersConverter.deleteTree(tmp);
                if (!Files.isRegularFile(source.resolve("streamdiffusion4j.json"))) throw e;
            }
        }
        try {
            DiffusersConverter.convert(source, onnx, new DiffusersConverter.Options(false, List.of()), progress);
        } catch (IOException e) {
            // another process may have finished the same conversion first
            if (!Files.isRegularFile(onnx.resolve("unet/model.onnx"))) throw e;
        }
        return onnx;
    }
}
