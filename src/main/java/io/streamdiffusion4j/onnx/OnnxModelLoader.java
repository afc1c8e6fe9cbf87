package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.model.Tokenizer;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.model.Vae;
import io.streamdiffusion4j.model.VaeEncoder;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.convert.SdxlTextEncoders;
import io.streamdiffusion4j.text.ClipTokenizer;
import io.streamdiffusion4j.text.PairedTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Loads a Stable Diffusion model folder in Hugging Face Optimum's ONNX layout
 * ({@code model_index.json, tokenizer/, scheduler/, text_encoder/, unet/, vae_encoder/,
 * vae_decoder/}, one {@code model.onnx} each, optionally with external data next to it) and,
 * optionally, a TAESD folder ({@code vae_encoder/, vae_decoder/}) that replaces the model's VAE.
 * Every problem is reported with the file and what was expected.
 */
public final class OnnxModelLoader {

    /**
     * How sessions run.
     *
     * @param threads the CPU thread pool (shared by all sessions with the same settings, see {@link OrtRuntime})
     * @param optimization ONNX Runtime's graph optimisation level
     * @param device where to run; a named provider that cannot load is an error, {@code auto} falls back and says so
     * @param providerSettings the GPU providers' options
     * @param staticShapes the pipeline configuration's fixed sizes, or null for dynamic shapes (any size, any batch)
     * @param optimizedModelCache folder for optimised graphs (CPU provider), or null to optimise on every load
     * @param notices where decisions the user should know about are reported (for example {@code auto} falling back)
     * @param precomputeConditioning split the UNet so that what depends only on the prompt and the timesteps (the
     *     cross-attention keys and values, the time embeddings) is computed once per prompt, not per frame
     */
    public record Options(ThreadSettings threads, OrtSession.SessionOptions.OptLevel optimization, Device device,
                          ProviderSettings providerSettings, StaticShapes staticShapes, Path optimizedModelCache,
                          Consumer<String> notices, boolean precomputeConditioning) {
        private static final Consumer<String> STDERR = m -> System.err.println("streamdiffusion4j: " + m);

        public Options {
            Objects.requireNonNull(threads, "threads");
            Objects.requireNonNull(optimization, "optimization");
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(providerSettings, "providerSettings");
            Objects.requireNonNull(notices, "notices");
        }

        /** {@code intraOpThreads} threads (spinning on), graph optimisation at {@code optimization}, on the CPU. */
        public Options(int intraOpThreads, OrtSession.SessionOptions.OptLevel optimization) {
            this(new ThreadSettings(intraOpThreads, true), optimization, Device.CPU, ProviderSettings.defaults(), null, null, STDERR, true);
        }

        /** All cores, every graph optimisation, CPU, dynamic shapes, no cache; notices on standard error. */
        public static Options defaults() {
            return new Options(ThreadSettings.defaults(), OrtSession.SessionOptions.OptLevel.ALL_OPT, Device.CPU,
                    ProviderSettings.defaults(), null, null, STDERR, true);
        }

        public int intraOpThreads() {
            return threads.intraOpThreads();
        }

        public Options withThreads(ThreadSettings v) {
            return new Options(v, optimization, device, providerSettings, staticShapes, optimizedModelCache, notices, precomputeConditioning);
        }

        public Options withDevice(Device v, ProviderSettings settings) {
            return new Options(threads, optimization, v, settings, staticShapes, optimizedModelCache, notices, precomputeConditioning);
        }

        public Options withStaticShapes(StaticShapes v) {
            return new Options(threads, optimization, device, providerSettings, v, optimizedModelCache, notices, precomputeConditioning);
        }

        public Options withOptimizedModelCache(Path v) {
            return new Options(threads, optimization, device, providerSettings, staticShapes, v, notices, precomputeConditioning);
        }

        public Options withPrecomputeConditioning(boolean v) {
            return new Options(threads, optimization, device, providerSettings, staticShapes, optimizedModelCache, notices, v);
        }

        public Options withNotices(Consumer<String> v) {
            return new Options(threads, optimization, device, providerSettings, staticShapes, optimizedModelCache, v, precomputeConditioning);
        }
    }

    private OnnxModelLoader() {}

    /**
     * @param taesdDir a TAESD folder, or null to use the model's own AutoencoderKL
     */
    public static StableDiffusionModels load(Path modelDir, Path taesdDir, Options options) throws IOException {
        return load(modelDir, taesdDir, options, null);
    }

    /**
     * {@link #load(Path, Path, Options)} with the UNet taken from {@code unetFile} instead of the
     * folder's {@code unet/model.onnx} (a UNet made with ControlNet residual inputs; its config.json
     * is read next to it, else the folder's {@code unet/config.json}); null: the folder's.
     */
    public static StableDiffusionModels load(Path modelDir, Path taesdDir, Options options, Path unetFile) throws IOException {
        requireFolder(modelDir, "model");
        if (unetFile != null && !Files.isRegularFile(unetFile)) {
            throw new InvalidModelException("UNet with ControlNet inputs " + unetFile + " does not exist");
        }
        List<String> missing = new ArrayList<>();
        for (String f : List.of("tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json",
                "text_encoder/model.onnx", "unet/model.onnx")) {
            if (!Files.isRegularFile(modelDir.resolve(f))) missing.add(f);
        }
        if (taesdDir == null && !Files.isRegularFile(modelDir.resolve("vae_decoder/model.onnx"))) {
            missing.add("vae_decoder/model.onnx");
        }
        if (missing.equals(List.of("vae_decoder/model.onnx")) && Files.isRegularFile(modelDir.resolve("taesd/vae_decoder/model.onnx"))) {
            // e.g. IDKiro/sdxs-512-0.9 without its vae_large/: the repository's only VAE is the tiny one
            throw new InvalidModelException("model folder " + modelDir + " has no full VAE (vae_decoder/), only its tiny VAE"
                    + " in taesd/: set use_tiny_vae to true (or give --taesd)");
        }
        if (!missing.isEmpty()) {
            throw new InvalidModelException("model folder " + modelDir + " is not in the Optimum ONNX layout: missing "
                    + String.join(", ", missing));
        }
        if (taesdDir != null) {
            requireFolder(taesdDir, "TAESD");
            for (String f : List.of("vae_encoder/model.onnx", "vae_decoder/model.onnx")) {
                if (!Files.isRegularFile(taesdDir.resolve(f))) {
                    throw new InvalidModelException("TAESD folder " + taesdDir + " has no " + f);
                }
            }
        }

        Tokenizer tokenizer = ClipTokenizer.load(modelDir.resolve("tokenizer"));
        SchedulerConfig scheduler = SchedulerConfig.read(modelDir.resolve("scheduler/scheduler_config.json"));
        ExecutionProviders.Selection selection = ExecutionProviders.select(options.device(), options.providerSettings());
        if (selection.notice() != null) options.notices().accept(selection.notice());
        SessionFactory sessions = new ConfiguredSessions(options, selection.provider());
        StaticShapes shapes = options.staticShapes();
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            boolean sdxl = Files.isRegularFile(modelDir.resolve(SdxlTextEncoders.TEXT_ENCODER_2 + "/model.onnx"));
            TextEncoder text = sdxl ? openSdxlTextEncoders(sessions, shapes, modelDir) : new OrtTextEncoder(
                    sessions.open(modelDir.resolve("text_encoder/model.onnx"), shapes == null ? Map.of() : OrtTextEncoder.staticInputs()),
                    ComponentConfig.read(modelDir.resolve("text_encoder")));
            opened.add(text);
            if (sdxl) tokenizer = new PairedTokenizer(tokenizer, ClipTokenizer.load(modelDir.resolve(SdxlTextEncoders.TOKENIZER_2)));
            Path unetConfigDir = unetFile != null && Files.isRegularFile(unetFile.resolveSibling("config.json"))
                    ? unetFile.getParent() : modelDir.resolve("unet");
            ComponentConfig unetConfig = ComponentConfig.read(unetConfigDir);
            Unet unet = OrtUnet.open(sessions, unetFile != null ? unetFile : modelDir.resolve("unet/model.onnx"), unetConfig, shapes,
                    options.precomputeConditioning(), options.notices());
            opened.add(unet);
            Vae vae = taesdDir != null
                    ? openVae(sessions, shapes, taesdDir, 1.0, "TAESD " + taesdDir, opened)
                    : openVae(sessions, shapes, modelDir, 0.18215, "the VAE of " + modelDir, opened);
            opened.add(vae);
            return new StableDiffusionModels(tokenizer, text, unet, vae, scheduler,
                    modelDir + (taesdDir != null ? " + TAESD " + taesdDir : "") + " on " + selection.provider().key());
        } catch (IOException | RuntimeException e) {
            closeAll(opened);
            throw e;
        }
    }

    /**
     * Only a UNet, with its config.json read next to it: one rebuilt with an IP-Adapter, or the
     * plain UNet rebuilt the same way, to run with a loaded model's other parts
     * ({@link StableDiffusionModels#withUnet}) without loading them again.
     */
    public static Unet loadUnet(Path unetFile, Options options) throws IOException {
        if (!Files.isRegularFile(unetFile)) throw new InvalidModelException("UNet " + unetFile + " does not exist");
        ExecutionProviders.Selection selection = ExecutionProviders.select(options.device(), options.providerSettings());
        return OrtUnet.open(new ConfiguredSessions(options, selection.provider()), unetFile, ComponentConfig.read(unetFile.getParent()),
                options.staticShapes(), options.precomputeConditioning(), options.notices());
    }

    /** Loads a depth model for the {@code depth} control preprocessor (a model.onnx file, or a folder holding one or onnx/model.onnx). */
    public static OrtDepthPreprocessor loadDepthModel(Path fileOrFolder, Options options) throws IOException {
        Path file = fileOrFolder;
        if (Files.isDirectory(fileOrFolder)) {
            file = Files.isRegularFile(fileOrFolder.resolve("model.onnx")) ? fileOrFolder.resolve("model.onnx")
                    : fileOrFolder.resolve("onnx/model.onnx");
        }
        if (!Files.isRegularFile(file)) throw new InvalidModelException("depth model " + fileOrFolder + " has no model.onnx");
        ExecutionProviders.Selection selection = ExecutionProviders.select(options.device(), options.providerSettings());
        return OrtDepthPreprocessor.open(new ConfiguredSessions(options, selection.provider()), file);
    }

    /** The ControlNet graph of a folder: its model.onnx, or controlnet/model.onnx. */
    public static Path controlNetFile(Path folder) {
        Path direct = folder.resolve("model.onnx");
        return Files.isRegularFile(direct) || !Files.isRegularFile(folder.resolve("controlnet/model.onnx"))
                ? direct : folder.resolve("controlnet/model.onnx");
    }

    /** Loads a ControlNet graph ({@link ControlNetNames}) with these options' provider, threads and cache. */
    public static OrtControlNet loadControlNet(Path fileOrFolder, Options options) throws IOException {
        Path file = Files.isDirectory(fileOrFolder) ? controlNetFile(fileOrFolder) : fileOrFolder;
        if (!Files.isRegularFile(file)) throw new InvalidModelException("ControlNet model " + file + " does not exist");
        ExecutionProviders.Selection selection = ExecutionProviders.select(options.device(), options.providerSettings());
        return OrtControlNet.open(new ConfiguredSessions(options, selection.provider()), file);
    }

    /**
     * Stable Diffusion XL's two text encoders ({@code text_encoder/}, {@code text_encoder_2/}); an
     * empty negative prompt is zeros unless model_index.json sets {@code force_zeros_for_empty_prompt}
     * false (diffusers' SDXL pipeline default is true).
     */
    private static TextEncoder openSdxlTextEncoders(SessionFactory sessions, StaticShapes shapes, Path modelDir) throws IOException {
        Map<String, long[]> wanted = shapes == null ? Map.of() : OrtTextEncoder.staticInputs();
        Path tokenizer2 = modelDir.resolve(SdxlTextEncoders.TOKENIZER_2);
        if (!Files.isRegularFile(tokenizer2.resolve("vocab.json"))) {
            throw new InvalidModelException("model folder " + modelDir + " has " + SdxlTextEncoders.TEXT_ENCODER_2
                    + "/ but no " + SdxlTextEncoders.TOKENIZER_2 + "/vocab.json");
        }
        boolean zeros = true;
        Path index = modelDir.resolve("model_index.json");
        if (Files.isRegularFile(index)) {
            var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(index.toFile()).get("force_zeros_for_empty_prompt");
            if (node != null && node.isBoolean()) zeros = node.booleanValue();
        }
        ComponentConfig firstConfig = ComponentConfig.read(modelDir.resolve("text_encoder"));
        ComponentConfig secondConfig = ComponentConfig.read(modelDir.resolve(SdxlTextEncoders.TEXT_ENCODER_2));
        OnnxSession first = sessions.open(modelDir.resolve("text_encoder/model.onnx"), wanted);
        OnnxSession second;
        try {
            second = sessions.open(modelDir.resolve(SdxlTextEncoders.TEXT_ENCODER_2 + "/model.onnx"), wanted);
        } catch (IOException | RuntimeException e) {
            first.close();
            throw e;
        }
        return new OrtSdxlTextEncoder(first, firstConfig, second, secondConfig, zeros);
    }

    /**
     * Loads only an autoencoder: a TAESD folder ({@code tiny}) or a model folder's own
     * AutoencoderKL, for example to compare the two VAEs with the same UNet.
     */
    public static Vae loadVae(Path dir, boolean tiny, Options options) throws IOException {
        requireFolder(dir, tiny ? "TAESD" : "model");
        ExecutionProviders.Selection selection = ExecutionProviders.select(options.device(), options.providerSettings());
        if (selection.notice() != null) options.notices().accept(selection.notice());
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            return openVae(new ConfiguredSessions(options, selection.provider()), options.staticShapes(), dir,
                    tiny ? 1.0 : 0.18215, (tiny ? "TAESD " : "the VAE of ") + dir, opened);
        } catch (IOException | RuntimeException e) {
            closeAll(opened);
            throw e;
        }
    }

    private static Vae openVae(SessionFactory sessions, StaticShapes shapes, Path dir, double defaultScaling,
                               String name, List<AutoCloseable> opened) throws IOException {
        ComponentConfig decoderConfig = ComponentConfig.read(dir.resolve("vae_decoder"));
        ComponentConfig encoderConfig = ComponentConfig.read(dir.resolve("vae_encoder"));
        int configuredChannels = (decoderConfig.present() ? decoderConfig : encoderConfig).intValue("latent_channels");
        OrtVaeDecoder decoder = new OrtVaeDecoder(sessions.open(dir.resolve("vae_decoder/model.onnx"),
                shapes == null ? Map.of() : OrtVaeDecoder.staticInputs(shapes, configuredChannels)));
        opened.add(decoder);
        Path encoderFile = dir.resolve("vae_encoder/model.onnx");
        VaeEncoder encoder;
        int encoderChannels = -1;
        if (Files.isRegularFile(encoderFile)) {
            OrtVaeEncoder e = OrtVaeEncoder.open(sessions, encoderFile, shapes == null ? Map.of() : OrtVaeEncoder.staticInputs(shapes));
            opened.add(e);
            encoder = e;
            encoderChannels = e.fixedLatentChannels();
        } else {
            encoder = new MissingEncoder(encoderFile);
        }
        ComponentConfig config = decoderConfig.present() ? decoderConfig : encoderConfig;
        // diffusers' class defaults when the config says nothing: AutoencoderKL 0.18215, AutoencoderTiny 1.0
        float scaling = (float) config.doubleValue("scaling_factor", defaultScaling);
        int channels = decoder.fixedLatentChannels();
        if (channels <= 0) channels = encoderChannels;
        int configured = config.intValue("latent_channels");
        if (channels > 0 && configured > 0 && channels != configured) {
            throw new InvalidModelException(dir.resolve("vae_decoder/model.onnx") + " takes " + channels
                    + " latent channels but " + config.file() + " says latent_channels = " + configured);
        }
        if (encoderChannels > 0 && decoder.fixedLatentChannels() > 0 && encoderChannels != decoder.fixedLatentChannels()) {
            throw new InvalidModelException(encoderFile + " gives " + encoderChannels + " latent channels but "
                    + dir.resolve("vae_decoder/model.onnx") + " takes " + decoder.fixedLatentChannels());
        }
        if (channels <= 0) channels = configured > 0 ? configured : 4;
        return new Vae(encoder, decoder, scaling, channels, name);
    }

    /** Session options with {@code options}' threading and optimisation level, for opening single sessions. */
    static OrtSession.SessionOptions sessionOptions(Options options) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        OrtRuntime.applyThreading(so, options.threads());
        so.setOptimizationLevel(options.optimization());
        return so;
    }

    private static void requireFolder(Path dir, String what) throws InvalidModelException {
        if (!Files.exists(dir)) throw new InvalidModelException(what + " folder not found: " + dir);
        if (!Files.isDirectory(dir)) throw new InvalidModelException(what + " path is not a folder: " + dir);
    }

    private static void closeAll(List<AutoCloseable> opened) {
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception ignored) {
                // already failing; the first error is the one to report
            }
        }
    }

    /** Stands in for an absent vae_encoder: txt2img works, img2img says what is missing. */
    private record MissingEncoder(Path file) implements VaeEncoder {
        @Override
        public LatentDistribution encode(FloatTensor images) {
            throw new IllegalStateException("img2img needs a VAE encoder, but " + file + " does not exist");
        }

        @Override
        public void close() {}
    }
}
