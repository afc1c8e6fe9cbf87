package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.LoraMerge;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.Quantization;
import io.streamdiffusion4j.hub.ConsoleDownloadProgress;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.StaticShapes;
import io.streamdiffusion4j.pipeline.Guidance;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.StreamBatch;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Glue between the parsed options and the library. */
final class Cli {
    private Cli() {}

    /** Resolves the models (building or converting them once if needed) and prepares a stream builder. */
    static StreamDiffusion.Builder builder(RunConfig rc, RunOptions options) throws IOException, ConfigException {
        if (rc.ipAdapter() != null && options.quantize.resolve(options.fp16, options.runtime.device) != Quantization.NONE) {
            throw new ConfigException("an IP-Adapter cannot be combined with --quantize yet (it is built from the float UNet's"
                    + " weights); drop one of them");
        }
        ModelStore.Resolved models = resolveModels(rc, options);
        StreamDiffusion.Builder b = rc.streamBuilder();
        IpAdapterOptions.Prepared ip = IpAdapterOptions.apply(b, rc, models.model(), ImageSizeLimit.FILES);
        b.model(models.model())
                .taesd(models.taesd())
                .useTinyVae(rc.useTinyVae())
                .onnxOptions(loaderOptions(rc, options));
        // with an IP-Adapter, the residual inputs go into the adapter's UNet: one graph takes both
        ControlNetModels.configure(b, rc, IpAdapterOptions.unetSource(ip, models.model()), loaderOptions(rc, options), options.fp16);
        return b;
    }

    /**
     * The ONNX folders for {@code --model} / {@code --taesd} / {@code --lora}: downloaded, built or
     * converted once if needed (with progress bars), and a TAESD when use_tiny_vae asks for one.
     */
    static ModelStore.Resolved resolveModels(RunConfig rc, RunOptions options) throws IOException, ConfigException {
        ModelStore store = ModelStore.defaultStore();
        ModelStore.Resolved models;
        try (Progress p = new Progress("prepare model", System.err);
             ConsoleDownloadProgress downloads = new ConsoleDownloadProgress(System.err)) {
            // LoRAs may be Hub ids too: fetched (with a progress bar) before the model is converted with them
            Quantization quantize = options.quantize.resolve(options.fp16, options.runtime.device);
            List<LoraMerge.LoraFile> loras = new ArrayList<>();
            for (String l : options.loras) loras.add(store.lora(l, downloads));
            models = store.resolve(options.model, rc.useTinyVae() ? options.taesd : null,
                    new DiffusersConverter.Options(options.fp16, loras, quantize), p, downloads);
        }
        if (rc.useTinyVae() && models.taesd() == null) {
            throw new ConfigException("use_tiny_vae is true but there is no TAESD: give --taesd DIR (the model folder "
                    + models.model() + " has no taesd/), or set use_tiny_vae to false to use the model's own VAE");
        }
        return models;
    }

    /** How ONNX Runtime runs: device, threads, optimised-model cache, and static shapes when asked. */
    static OnnxModelLoader.Options loaderOptions(RunConfig rc, RunOptions options) throws ConfigException {
        OnnxModelLoader.Options onnx;
        try {
            onnx = options.runtime.loaderOptions(options.threads, ModelStore.defaultStore().root(),
                    notice -> System.err.println("notice: " + notice));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        if (options.staticShapes) {
            Guidance guidance = Guidance.of(rc.cfgType(), rc.guidanceScale(), rc.delta());
            StreamConfig sc = rc.streamConfig();
            boolean turbo = rc.mode() == Mode.TXT2IMG && rc.txt2imgMethod() == RunConfig.Txt2ImgMethod.SD_TURBO;
            onnx = onnx.withStaticShapes(new StaticShapes(StreamBatch.unetRows(sc, guidance), sc.frameBufferSize(),
                    turbo ? sc.batchSize() : sc.frameBufferSize(), sc.width(), sc.height()));
        }
        return onnx;
    }
}
