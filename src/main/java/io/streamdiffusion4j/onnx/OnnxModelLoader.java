package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtEnvironment;
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
import io.streamdiffusion4j.text.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads a Stable Diffusion model folder in Hugging Face Optimum's ONNX layout
 * ({@code model_index.json, tokenizer/, scheduler/, text_encoder/, unet/, vae_encoder/,
 * vae_decoder/}, one {@code model.onnx} each, optionally with external data next to it) and,
 * optionally, a TAESD folder ({@code vae_encoder/, vae_decoder/}) that replaces the model's VAE.
 * Every problem is reported with the file and what was expected.
 */
public final class OnnxModelLoader {

    /** How sessions run. */
    public record Options(int intraOpThreads, OrtSession.SessionOptions.OptLevel optimization) {
        public static Options defaults() {
            return new Options(Runtime.getRuntime().availableProcessors(), OrtSession.SessionOptions.OptLevel.ALL_OPT);
        }
    }

    private OnnxModelLoader() {}

    /**
     * @param taesdDir a TAESD folder, or null to use the model's own AutoencoderKL
     */
    public static StableDiffusionModels load(Path modelDir, Path taesdDir, Options options) throws IOException {
        requireFolder(modelDir, "model");
        List<String> missing = new ArrayList<>();
        for (String f : List.of("tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json",
                "text_encoder/model.onnx", "unet/model.onnx")) {
            if (!Files.isRegularFile(modelDir.resolve(f))) missing.add(f);
        }
        if (taesdDir == null && !Files.isRegularFile(modelDir.resolve("vae_decoder/model.onnx"))) {
            missing.add("vae_decoder/model.onnx");
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
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<AutoCloseable> opened = new ArrayList<>();
        try (OrtSession.SessionOptions so = sessionOptions(options)) {
            TextEncoder text = new OrtTextEncoder(
                    OnnxSession.open(env, modelDir.resolve("text_encoder/model.onnx"), so),
                    ComponentConfig.read(modelDir.resolve("text_encoder")));
            opened.add(text);
            Unet unet = new OrtUnet(OnnxSession.open(env, modelDir.resolve("unet/model.onnx"), so),
                    ComponentConfig.read(modelDir.resolve("unet")));
            opened.add(unet);
            Vae vae = taesdDir != null
                    ? openVae(env, so, taesdDir, 1.0, "TAESD " + taesdDir, opened)
                    : openVae(env, so, modelDir, 0.18215, "the VAE of " + modelDir, opened);
            opened.add(vae);
            return new StableDiffusionModels(tokenizer, text, unet, vae, scheduler,
                    modelDir + (taesdDir != null ? " + TAESD " + taesdDir : ""));
        } catch (OrtException e) {
            closeAll(opened);
            throw new InvalidModelException("ONNX Runtime failed to set up sessions: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            closeAll(opened);
            throw e;
        }
    }

    private static Vae openVae(OrtEnvironment env, OrtSession.SessionOptions so, Path dir, double defaultScaling,
                               String name, List<AutoCloseable> opened) throws IOException {
        ComponentConfig decoderConfig = ComponentConfig.read(dir.resolve("vae_decoder"));
        ComponentConfig encoderConfig = ComponentConfig.read(dir.resolve("vae_encoder"));
        OrtVaeDecoder decoder = new OrtVaeDecoder(OnnxSession.open(env, dir.resolve("vae_decoder/model.onnx"), so));
        opened.add(decoder);
        Path encoderFile = dir.resolve("vae_encoder/model.onnx");
        VaeEncoder encoder;
        int encoderChannels = -1;
        if (Files.isRegularFile(encoderFile)) {
            OrtVaeEncoder e = OrtVaeEncoder.open(env, encoderFile, so);
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

    static OrtSession.SessionOptions sessionOptions(Options options) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(options.intraOpThreads());
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
