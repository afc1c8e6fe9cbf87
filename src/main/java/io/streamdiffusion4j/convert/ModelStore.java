package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.checkpoint.SingleFileCheckpoint;
import io.streamdiffusion4j.files.CacheEntry;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.hub.DownloadProgress;
import io.streamdiffusion4j.hub.FileSelector;
import io.streamdiffusion4j.hub.HubClient;
import io.streamdiffusion4j.hub.HubException;
import io.streamdiffusion4j.hub.HubSettings;
import io.streamdiffusion4j.hub.RepoLayouts;
import io.streamdiffusion4j.hub.RepoRef;
import io.streamdiffusion4j.hub.Snapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Turns what a user names with {@code --model} / {@code --taesd} / {@code --lora} into files the
 * pipeline loads, downloading, converting and caching as needed:
 * <ul>
 *   <li>{@code tiny}: the built-in tiny model (random weights, own tokenizer, TAESD), created
 *       on first use, so every command runs offline;</li>
 *   <li>a folder in Optimum's ONNX layout: used as it is;</li>
 *   <li>a diffusers folder (safetensors): converted once into the cache, keyed by the digest of
 *       its files (and the LoRAs and precision), then reused;</li>
 *   <li>a single-file original Stable Diffusion checkpoint ({@code .safetensors}): split into a
 *       diffusers model with the configuration of its architecture (see
 *       {@link SingleFileCheckpoint}), then converted once like a diffusers folder;</li>
 *   <li>a Hugging Face Hub id ({@code org/name[@revision]}, or {@code org/name/file.safetensors}
 *       for a single file): the needed files are fetched into Python's Hub cache (see
 *       {@link HubClient}), then treated as above; the conversion is keyed by the files' content
 *       hashes. A local path that exists always wins over a Hub id.</li>
 * </ul>
 * A TAESD may be an ONNX folder, a diffusers AutoencoderTiny folder, or a Hub id of either.
 * Without {@code --taesd}, a model folder's own {@code taesd/} (the built-in and created models
 * have one) is used.
 *
 * <p>The cache lives in the {@code streamdiffusion4j.cache} system property's folder, else
 * {@code $STREAMDIFFUSION4J_CACHE}, else
 * {@code $XDG_CACHE_HOME/streamdiffusion4j}, else {@code ~/.cache/streamdiffusion4j}. Hub
 * downloads go to the Hub cache ({@link HubSettings}). Every converted or created model is a
 * {@link CacheEntry}: it appears in one rename with a manifest, and one that no longer matches its
 * manifest (a file truncated or changed since) is converted again, with a note saying so.
 */
public final class ModelStore {
    /** Bump when the built-in model or the converter's output changes, so caches are rebuilt. */
    static final String FORMAT = "v1";
    public static final String BUILT_IN_TINY = "tiny";

    private final Path root;
    private final HubSettings hub;

    /** A store whose Hub settings come from the environment, read when a Hub id is first resolved. */
    public ModelStore(Path root) {
        this(root, null);
    }

    /** @param hub the Hub settings to use, or null to read them from the environment when needed */
    public ModelStore(Path root, HubSettings hub) {
        this.root = root;
        this.hub = hub;
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
        return resolve(model, taesd, options, progress, DownloadProgress.NONE);
    }

    /**
     * @param taesd     the user's TAESD, or null to use the model's own {@code taesd/} if it has one
     * @param downloads progress of Hub downloads, in bytes
     */
    public Resolved resolve(String model, String taesd, DiffusersConverter.Options options,
                            DiffusersConverter.Progress progress, DownloadProgress downloads) throws IOException {
        try (Session s = new Session(downloads)) {
            Path onnx = resolveModel(model, options.unquantized(), progress, s);
            Path tiny = null;
            if (taesd != null) {
                tiny = resolveTaesd(taesd, options.half(), progress, s);
            } else if (Files.isRegularFile(onnx.resolve("taesd/vae_encoder/model.onnx"))) {
                tiny = onnx.resolve("taesd");
            }
            if (options.quantize().unet()) onnx = quantized(onnx, progress, s);
            if (options.quantize().taesd() && tiny != null) tiny = quantizedTaesd(tiny, progress, s);
            return new Resolved(onnx, tiny, model);
        }
    }

    /**
     * A LoRA given as {@code FILE[:SCALE]}, where FILE is a local file or a Hub id: a repository
     * ({@code org/name}: its {@code pytorch_lora_weights.safetensors}, or its only
     * {@code .safetensors}) or one file in it ({@code org/name/file.safetensors}).
     */
    public LoraMerge.LoraFile lora(String spec, DownloadProgress downloads) throws IOException {
        LoraMerge.LoraFile parsed = LoraMerge.LoraFile.parse(spec);
        if (Files.exists(parsed.file())) return parsed;
        String name = parsed.file().toString();
        if (!RepoRef.looksLikeHubId(name)) {
            throw new InputFileException("LoRA not found: " + name + " (give a .safetensors file, or a Hugging Face Hub id such"
                    + " as latent-consistency/lcm-lora-sdv1-5)");
        }
        RepoRef ref = RepoRef.parse(name);
        try (Session s = new Session(downloads)) {
            Snapshot snap = s.fetch(ref, ref.file() != null ? RepoLayouts.file() : RepoLayouts.lora(), "LoRA");
            return new LoraMerge.LoraFile(snap.file(snap.files().keySet().iterator().next()), parsed.scale());
        }
    }

    /**
     * One file of a Hub repository, from the Hub cache or downloaded into it: {@code id} is
     * {@code org/name[@revision]} (then {@code defaultFile} is taken) or {@code org/name/path}.
     */
    public Path hubFile(String id, String defaultFile, DownloadProgress downloads) throws IOException {
        RepoRef parsed = RepoRef.parse(id);
        RepoRef ref = parsed.file() != null ? parsed : new RepoRef(parsed.repo(), parsed.revision(), defaultFile);
        try (Session s = new Session(downloads)) {
            return s.fetch(ref, RepoLayouts.file(), "file").file(ref.file());
        }
    }

    Path resolveModel(String model, DiffusersConverter.Options options, DiffusersConverter.Progress progress)
            throws IOException {
        try (Session s = new Session(DownloadProgress.NONE)) {
            return resolveModel(model, options, progress, s);
        }
    }

    private Path resolveModel(String model, DiffusersConverter.Options options, DiffusersConverter.Progress progress,
                              Session s) throws IOException {
        if (model.toLowerCase(Locale.ROOT).equals(BUILT_IN_TINY) && !Files.exists(Path.of(model))) {
            return builtInTiny(progress);
        }
        Path dir = Path.of(model);
        if (Files.isRegularFile(dir) && dir.getFileName().toString().endsWith(".safetensors")) {
            return fromCheckpoint(dir, s.digest.file(dir), options, progress, s);
        }
        if (!Files.exists(dir)) {
            if (!RepoRef.looksLikeHubId(model)) {
                throw new InputFileException("model not found: " + model + " (give a model folder, a single-file .safetensors"
                        + " checkpoint, a Hugging Face Hub id such as stabilityai/sd-turbo, or 'tiny' for the built-in model)");
            }
            return fromHub(RepoRef.parse(model), options, progress, s);
        }
        if (Files.isRegularFile(dir.resolve("unet/model.onnx"))) {
            requireConvertible(dir.toString(), options);
            return dir;
        }
        if (Files.exists(dir.resolve("unet/model.onnx"))) {
            throw new InputFileException(dir.resolve("unet/model.onnx") + " is not a file; an ONNX model folder has one"
                    + " model.onnx file per component");
        }
        if (DiffusersConverter.isDiffusersFolder(dir)) return converted(dir, s.digest.folder(dir), options, progress, s);
        throw new InputFileException(dir + " is neither an ONNX model folder (unet/model.onnx) nor a diffusers folder"
                + " (model_index.json, unet/config.json)");
    }

    private Path fromHub(RepoRef ref, DiffusersConverter.Options options, DiffusersConverter.Progress progress, Session s)
            throws IOException {
        if (ref.file() != null) {
            if (!ref.file().endsWith(".safetensors")) {
                throw new InputFileException(ref + ": a single-file model must be a .safetensors checkpoint (other formats are"
                        + " PyTorch pickles, which are not read because loading them can run code)");
            }
            Snapshot snap = s.fetch(ref, RepoLayouts.file(), "model");
            return fromCheckpoint(snap.file(ref.file()), "hub:" + snap.contentKey(), options, progress, s);
        }
        Snapshot snap = s.fetch(ref, RepoLayouts.model(), "model");
        if (snap.layout() == FileSelector.Layout.ONNX) {
            requireConvertible(ref.toString(), options);
            return snap.dir();
        }
        return converted(snap.dir(), "hub:" + snap.contentKey(), options, progress, s);
    }

    private static void requireConvertible(String what, DiffusersConverter.Options options) throws IOException {
        if (!options.loras().isEmpty() || options.half()) {
            throw new InputFileException(what + " is already an ONNX model; LoRAs and --fp16 apply when converting a diffusers"
                    + " model");
        }
    }

    /**
     * A single-file checkpoint: its architecture's configuration is fetched from the Hub (configs,
     * scheduler and tokenizer only), the weights are renamed into a temporary diffusers folder,
     * and that is converted; the result is cached by the checkpoint's and the configuration's
     * content.
     */
    private Path fromCheckpoint(Path file, String fileKey, DiffusersConverter.Options options,
                                DiffusersConverter.Progress progress, Session s) throws IOException {
        SingleFileCheckpoint.Base base = SingleFileCheckpoint.detect(file);
        Snapshot config = s.fetch(new RepoRef(base.configRepo()), RepoLayouts.pipelineConfig(), null);
        Path target = convertedPath("ldm:" + fileKey + "|config:" + config.contentKey(), options, s);
        if (reusable(target, progress)) return target;
        Path work = Files.createDirectories(root.resolve("checkpoints"));
        Path tmp = Files.createTempDirectory(work, ".diffusers-");
        try {
            progress.note("reading " + file.getFileName() + " as " + base.label() + " with the configuration of "
                    + base.configRepo());
            SingleFileCheckpoint.toDiffusers(file, config.dir(), tmp.resolve("model"));
            DiffusersConverter.convert(tmp.resolve("model"), target, options, progress);
        } catch (IOException e) {
            if (!finishedElsewhere(target)) throw e;
        } finally {
            DiffusersConverter.deleteTree(tmp);
        }
        return target;
    }

    private Path resolveTaesd(String taesd, boolean half, DiffusersConverter.Progress progress, Session s)
            throws IOException {
        Path dir = Path.of(taesd);
        if (Files.exists(dir) || !RepoRef.looksLikeHubId(taesd)) return resolveTaesd(dir, half, progress, s.digest);
        RepoRef ref = RepoRef.parse(taesd);
        if (ref.file() != null) throw new InputFileException(ref + ": --taesd takes a TAESD repository (org/name), not a file");
        Snapshot snap = s.fetch(ref, RepoLayouts.taesd(), "TAESD");
        if (snap.layout() == FileSelector.Layout.TAESD_ONNX) return snap.dir();
        if (!DiffusersConverter.isTaesdFolder(snap.dir())) {
            throw new InputFileException(ref + ": its config.json does not describe an AutoencoderTiny (_class_name), so it is"
                    + " not a TAESD");
        }
        return convertedTaesd(snap.dir(), "hub:" + snap.contentKey(), half, progress);
    }

    Path resolveTaesd(Path dir, boolean half, DiffusersConverter.Progress progress) throws IOException {
        ContentDigest digest = new ContentDigest(root.resolve("digests.json"));
        try {
            return resolveTaesd(dir, half, progress, digest);
        } finally {
            digest.save();
        }
    }

    private Path resolveTaesd(Path dir, boolean half, DiffusersConverter.Progress progress, ContentDigest digest)
            throws IOException {
        if (!Files.exists(dir)) {
            throw new InputFileException("TAESD folder not found: " + dir + " (give a folder, or a Hugging Face Hub id such as"
                    + " madebyollin/taesd)");
        }
        if (Files.isRegularFile(dir.resolve("vae_encoder/model.onnx"))) return dir;
        if (DiffusersConverter.isTaesdFolder(dir)) return convertedTaesd(dir, digest.folder(dir), half, progress);
        throw new InputFileException(dir + " is neither a TAESD ONNX folder (vae_encoder/, vae_decoder/) nor a diffusers"
                + " AutoencoderTiny folder");
    }

    private Path convertedTaesd(Path dir, String sourceKey, boolean half, DiffusersConverter.Progress progress)
            throws IOException {
        String hash = sourceKey.startsWith("hub:") ? ContentDigest.sha256(sourceKey) : sourceKey;
        Path target = root.resolve("converted").resolve("taesd-" + hash.substring(0, 24) + (half ? "-fp16" : "-fp32"));
        if (reusable(target, progress)) return target;
        try {
            DiffusersConverter.convertTaesd(dir, target, half, progress);
        } catch (IOException e) {
            if (!finishedElsewhere(target)) throw e;
        }
        return target;
    }

    /** Where the conversion of a source with this content key and these options is cached. */
    private Path convertedPath(String sourceKey, DiffusersConverter.Options options, Session s) throws IOException {
        StringBuilder key = new StringBuilder(FORMAT).append('|').append(sourceKey)
                .append('|').append(options.half() ? "fp16" : "fp32");
        for (LoraMerge.LoraFile l : options.loras()) {
            key.append('|').append(s.digest.file(l.file())).append(':').append(l.scale());
        }
        return root.resolve("converted").resolve(ContentDigest.sha256(key.toString()).substring(0, 32));
    }

    private Path converted(Path dir, String sourceKey, DiffusersConverter.Options options,
                           DiffusersConverter.Progress progress, Session s) throws IOException {
        Path target = convertedPath(sourceKey, options, s);
        s.digest.save();
        if (reusable(target, progress)) return target;
        try {
            DiffusersConverter.convert(dir, target, options, progress);
        } catch (IOException e) {
            if (!finishedElsewhere(target)) throw e;
        }
        return target;
    }

    /**
     * A ControlNet as a converted ONNX folder ({@code model.onnx}, external data, the diffusers
     * config.json) with the inputs and outputs of {@link io.streamdiffusion4j.model.ControlNetNames}.
     * {@code spec} is a local folder (a diffusers ControlNetModel, converted once into the cache
     * and keyed by its files' digest, or an already converted one, used as it is) or a Hub id
     * ({@code org/name[@revision]}: a repository with the ControlNetModel in its root, such as
     * lllyasviel/sd-controlnet-canny; keyed by the files' content hashes). A local path that
     * exists wins over a Hub id.
     */
    public Path controlNet(String spec, boolean half, DiffusersConverter.Progress progress, DownloadProgress downloads)
            throws IOException {
        try (Session s = new Session(downloads)) {
            Path dir = Path.of(spec);
            if (!Files.exists(dir)) {
                if (!RepoRef.looksLikeHubId(spec)) {
                    throw new InputFileException("ControlNet not found: " + spec + " (give a diffusers ControlNetModel folder,"
                            + " a converted one, or a Hugging Face Hub id such as lllyasviel/sd-controlnet-canny)");
                }
                RepoRef ref = RepoRef.parse(spec);
                if (ref.file() != null) {
                    throw new InputFileException(ref + ": a ControlNet is a repository (org/name) with config.json and its"
                            + " weights in the root, not a file");
                }
                Snapshot snap = s.fetch(ref, RepoLayouts.controlNet(), "ControlNet");
                if (snap.layout() == FileSelector.Layout.CONTROLNET_ONNX) {
                    requireControlNetUsable(spec, half);
                    return snap.dir();
                }
                if (!DiffusersConverter.isControlNetFolder(snap.dir())) {
                    throw new InputFileException(ref + ": its config.json does not describe a ControlNetModel (_class_name),"
                            + " so it is not a ControlNet");
                }
                return convertedControlNet(snap.dir(), "hub:" + snap.contentKey(), half, progress, s);
            }
            if (Files.isRegularFile(dir.resolve("model.onnx")) && Files.isRegularFile(dir.resolve("config.json"))) {
                requireControlNetUsable(spec, half);
                return dir;
            }
            if (DiffusersConverter.isControlNetFolder(dir)) return convertedControlNet(dir, s.digest.folder(dir), half, progress, s);
            throw new InputFileException(dir + " is neither a diffusers ControlNetModel folder (config.json with _class_name"
                    + " ControlNetModel and safetensors weights) nor a converted ControlNet (model.onnx and config.json)");
        }
    }

    /** {@link #controlNet(String, boolean, DiffusersConverter.Progress, DownloadProgress)} in float32, no download progress. */
    public Path controlNet(String spec, DiffusersConverter.Progress progress) throws IOException {
        return controlNet(spec, false, progress, DownloadProgress.NONE);
    }

    private static void requireControlNetUsable(String what, boolean half) throws IOException {
        if (half) throw new InputFileException(what + " is already an ONNX ControlNet; --fp16 applies when converting a diffusers one");
    }

    private Path convertedControlNet(Path dir, String sourceKey, boolean half, DiffusersConverter.Progress progress, Session s)
            throws IOException {
        String key = FORMAT + "|controlnet|" + sourceKey + "|" + (half ? "fp16" : "fp32");
        s.digest.save();
        Path target = root.resolve("converted").resolve("controlnet-" + ContentDigest.sha256(key).substring(0, 32));
        if (reusable(target, progress)) return target;
        try {
            DiffusersConverter.convertControlNet(dir, target, half, progress);
        } catch (IOException e) {
            if (!finishedElsewhere(target)) throw e;
        }
        return target;
    }

    /**
     * An IP-Adapter's two files ({@link IpAdapterFolder}): {@code spec} is a local folder or
     * .safetensors file ({@link IpAdapterFolder#of}), or a Hub id: {@code org/name[@revision]}
     * (h94/IP-Adapter's {@code models/ip-adapter_sd15.safetensors}, or a repository in this
     * project's layout) or {@code org/name/path/to/adapter.safetensors[@revision]} for another
     * adapter of the repository; only the weights and the {@code image_encoder/} beside them are
     * fetched into the Hub cache ({@link RepoLayouts#ipAdapter}). Adapters of kinds this project
     * does not build (SDXL, plus, full-face) are refused by name before anything is downloaded.
     * A local path that exists wins over a Hub id.
     */
    public IpAdapterFolder ipAdapter(String spec, DownloadProgress downloads) throws IOException {
        Path local = Path.of(spec);
        if (Files.exists(local)) return IpAdapterFolder.of(local);
        if (!RepoRef.looksLikeHubId(spec)) {
            throw new InputFileException(spec + ": no such IP-Adapter folder or file, and not a Hub id (give a folder with"
                    + " ip-adapter*.safetensors and image_encoder/, the .safetensors file, or a Hugging Face Hub id such as"
                    + " h94/IP-Adapter)");
        }
        RepoRef ref = RepoRef.parse(spec);
        String unsupported = ref.file() == null ? null : IpAdapterWeights.unsupportedByName(ref.file());
        if (unsupported != null) throw new InputFileException(ref + " is " + unsupported);
        try (Session s = new Session(downloads)) {
            Snapshot snap = s.fetch(ref, RepoLayouts.ipAdapter(), "IP-Adapter");
            String weights = RepoLayouts.ipAdapterWeights(snap);
            String found = IpAdapterWeights.unsupportedByName(weights);
            if (found != null) throw new InputFileException(ref + ": its only adapter " + weights + " is " + found);
            Path file = snap.file(weights);
            return new IpAdapterFolder(file, file.getParent().resolve(IpAdapterFolder.IMAGE_ENCODER));
        }
    }

    /**
     * The UNet of the ONNX model folder {@code modelDir} (as {@link #resolve} gives it) with
     * ControlNet inputs (see {@link UnetControlInputs}): a folder laid out like
     * {@code modelDir/unet} (model.onnx, config.json, external data), made once and cached by the
     * UNet's content. The plain {@code unet/} is not touched; a model used without ControlNet
     * never makes one. The weights are the plain UNet's files, hard-linked where the file system
     * allows (no extra disk), copied otherwise.
     */
    public Path unetWithControl(Path modelDir, DiffusersConverter.Progress progress) throws IOException {
        Path unet = modelDir.resolve("unet");
        if (!Files.isRegularFile(unet.resolve("model.onnx"))) {
            throw new InputFileException(modelDir + " has no unet/model.onnx: not an ONNX model folder");
        }
        try (Session s = new Session(DownloadProgress.NONE)) {
            String key = FORMAT + "|unet-control|" + UnetControlInputs.VERSION + "|" + s.digest.folder(unet);
            s.digest.save();
            Path target = root.resolve("converted").resolve("unet-control-" + ContentDigest.sha256(key).substring(0, 32));
            if (reusable(target, progress)) return target;
            Path tmp = CacheEntry.stage(target);
            try {
                UnetControlInputs.writeVariant(unet, tmp);
            } catch (IOException | RuntimeException e) {
                CacheEntry.deleteQuietly(tmp);
                throw e;
            }
            CacheEntry.commit(tmp, target);
            return target;
        }
    }

    /** An int8 copy of the ONNX model folder {@code onnx}, made once and cached (see {@link #resolve}). */
    public Path quantized(Path onnx, DiffusersConverter.Progress progress) throws IOException {
        try (Session s = new Session(DownloadProgress.NONE)) {
            return quantized(onnx, progress, s);
        }
    }

    /**
     * An int8 copy of the ONNX model folder {@code onnx} (see {@link Int8Quantizer}), made once and
     * cached by the folder's content, wherever the folder came from (converted here or not).
     */
    private Path quantized(Path onnx, DiffusersConverter.Progress progress, Session s) throws IOException {
        // the policy is part of the key: a re-measured policy makes new copies
        String key = FORMAT + "|" + Int8Quantizer.FORMAT + "|" + Int8Quantizer.Policy.MEASURED + "|" + StaticInt8Quantizer.FORMAT
                + "|" + UnetCalibration.describe() + "|" + s.digest.folder(onnx);
        s.digest.save();
        Path target = root.resolve("converted").resolve("int8-" + ContentDigest.sha256(key).substring(0, 32));
        if (reusable(target, progress)) return target;
        Path tmp = CacheEntry.stage(target);
        try {
            long t = System.nanoTime();
            String what = Int8Quantizer.quantizedCopy(onnx, tmp, Int8Quantizer.Policy.MEASURED).describe();
            progress.note(what + String.format(Locale.ROOT, " (calibrated and written in %.1f s, once)", (System.nanoTime() - t) / 1e9));
        } catch (IOException | RuntimeException e) {
            CacheEntry.deleteQuietly(tmp);
            throw e;
        }
        CacheEntry.commit(tmp, target);
        return target;
    }

    /** An int8 copy of the TAESD ONNX folder {@code taesd}, made once and cached (see {@link TaesdQuantizer}). */
    public Path quantizedTaesd(Path taesd, DiffusersConverter.Progress progress) throws IOException {
        try (Session s = new Session(DownloadProgress.NONE)) {
            return quantizedTaesd(taesd, progress, s);
        }
    }

    private Path quantizedTaesd(Path taesd, DiffusersConverter.Progress progress, Session s) throws IOException {
        String key = FORMAT + "|taesd|" + StaticInt8Quantizer.FORMAT + "|" + TaesdQuantizer.calibration() + "|"
                + s.digest.folder(taesd);
        s.digest.save();
        Path target = root.resolve("converted").resolve("int8-taesd-" + ContentDigest.sha256(key).substring(0, 32));
        if (reusable(target, progress)) return target;
        Path tmp = CacheEntry.stage(target);
        try {
            long t = System.nanoTime();
            String what = TaesdQuantizer.quantizedCopy(taesd, tmp).describe();
            progress.note(what + String.format(Locale.ROOT, " (calibrated and written in %.1f s, once)", (System.nanoTime() - t) / 1e9));
        } catch (IOException | RuntimeException e) {
            CacheEntry.deleteQuietly(tmp);
            throw e;
        }
        CacheEntry.commit(tmp, target);
        return target;
    }

    /** The built-in tiny model, created (random weights, seed 0) and converted on first use. */
    public Path builtInTiny(DiffusersConverter.Progress progress) throws IOException {
        Path base = root.resolve("builtin").resolve("tiny-" + FORMAT + "-w" + RandomModels.WEIGHTS_VERSION);
        Path onnx = base.resolve("onnx");
        if (reusable(onnx, progress)) return onnx;
        Path source = base.resolve("diffusers");
        if (!reusable(source, progress)) {
            Path tmp = CacheEntry.stage(source);
            try {
                RandomModels.create(ModelPreset.TINY, 0, tmp, null);
            } catch (IOException | RuntimeException e) {
                CacheEntry.deleteQuietly(tmp);
                throw e;
            }
            CacheEntry.commit(tmp, source);
        }
        try {
            DiffusersConverter.convert(source, onnx, new DiffusersConverter.Options(false, List.of()), progress);
        } catch (IOException e) {
            if (!finishedElsewhere(onnx)) throw e;
        }
        return onnx;
    }

    /**
     * True when the cache entry at {@code target} can be used as it is. A damaged one (a file
     * truncated or changed since it was written, or an unfinished entry of an older version) is
     * removed, with a note saying so, and the caller builds it again.
     */
    private static boolean reusable(Path target, DiffusersConverter.Progress progress) throws IOException {
        if (!Files.exists(target)) return false;
        String damage = CacheEntry.damage(target);
        if (damage == null) return true;
        progress.note("the cached model " + target + " is damaged (" + damage + "); building it again");
        CacheEntry.discard(target);
        return false;
    }

    /** After a failed build: true when another process finished the same entry meanwhile (its copy is used). */
    private static boolean finishedElsewhere(Path target) {
        return Files.exists(target) && CacheEntry.damage(target) == null;
    }

    /**
     * One resolution's shared state: the digest memo (saved at the end) and a Hub client, opened
     * only when a Hub id is met (so local models never read the Hub settings).
     */
    private final class Session implements AutoCloseable {
        final ContentDigest digest;
        private final DownloadProgress downloads;
        private HubClient client;

        Session(DownloadProgress downloads) throws IOException {
            this.digest = new ContentDigest(root.resolve("digests.json"));
            this.downloads = downloads;
        }

        /** @param role what the user named ("model", "TAESD", "LoRA"), or null for a lookup of our own */
        Snapshot fetch(RepoRef ref, FileSelector selector, String role) throws IOException {
            if (client == null) {
                client = new HubClient(hub != null ? hub : HubSettings.fromEnvironment(), digest::file);
            }
            try {
                return client.fetch(ref, selector, downloads);
            } catch (HubException e) {
                if (e.reason() != HubException.Reason.NOT_FOUND || role == null) throw e;
                // the text might have been meant as a local path: say both
                throw new HubException(e.reason(), role + " not found: '" + ref + "' is not a local path, and "
                        + e.getMessage(), e);
            } finally {
                digest.save();
            }
        }

        @Override
        public void close() {
            digest.save();
            if (client != null) client.close();
        }
    }
}
