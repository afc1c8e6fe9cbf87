package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.ControlNetSpec;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.control.ControlPreprocessors;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.hub.RepoRef;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.hub.ConsoleDownloadProgress;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtDepthPreprocessor;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the commands find the ControlNets of a run configuration and the UNet with residual
 * inputs they need, and which control preprocessor they use.
 *
 * <p>A ControlNet is a diffusers ControlNetModel folder or Hub id (converted once by the model
 * store and cached), a converted folder ({@code model.onnx} + {@code config.json}), or an ONNX
 * file. The UNet with residual inputs is the model folder's {@code unet_control/model.onnx} when
 * it ships one, else the store makes it once from the model's own UNet ({@link
 * ModelStore#unetWithControl}); the plain UNet is never touched.
 */
final class ControlNetModels {
    /** The folder of a model that ships its UNet made with ControlNet residual inputs. */
    static final String UNET_WITH_CONTROL = "unet_control";

    private ControlNetModels() {}

    /** Adds the configuration's ControlNets, the UNet they need and the preprocessor to {@code b}. */
    static void configure(StreamDiffusion.Builder b, RunConfig rc, Path modelDir, OnnxModelLoader.Options options, boolean half)
            throws ConfigException, java.io.IOException {
        if (rc.controlNets().isEmpty()) return;
        for (ControlNetSpec c : rc.controlNets()) b.controlNet(controlNetFile(c.source(), half), c.scale());
        b.unetWithControl(unetWithControl(modelDir));
        b.controlPreprocessor(preprocessor(rc.controlPreprocessor(), rc.controlDepthModel(), options), true);
    }

    /** The model's UNet graph with residual inputs: shipped in {@code unet_control/}, or made once from its UNet. */
    static Path unetWithControl(Path modelDir) throws java.io.IOException {
        Path shipped = modelDir.resolve(UNET_WITH_CONTROL).resolve("model.onnx");
        if (Files.isRegularFile(shipped)) return shipped;
        try (Progress p = new Progress("prepare UNet for ControlNet", System.err)) {
            return ModelStore.defaultStore().unetWithControl(modelDir, p).resolve("model.onnx");
        }
    }

    /** The ControlNet ONNX graph of {@code source}: an ONNX file, or a folder or Hub id through the model store. */
    static Path controlNetFile(String source, boolean half) throws ConfigException, java.io.IOException {
        Path p = Path.of(source);
        if (Files.isRegularFile(p)) return p;
        Path dir;
        try (Progress progress = new Progress("prepare ControlNet", System.err);
             ConsoleDownloadProgress downloads = new ConsoleDownloadProgress(System.err)) {
            dir = ModelStore.defaultStore().controlNet(source, half, progress, downloads);
        }
        Path f = OnnxModelLoader.controlNetFile(dir);
        if (!Files.isRegularFile(f)) throw new InputFileException("ControlNet folder " + dir + " has no model.onnx");
        return f;
    }

    /**
     * The preprocessor by name; {@code depth} loads {@code depthModel} (a folder, an ONNX file, or a
     * Hub id whose {@code onnx/model.onnx} is fetched into the Hub cache).
     */
    static ControlPreprocessor preprocessor(String name, String depthModel, OnnxModelLoader.Options options)
            throws ConfigException, java.io.IOException {
        if (name.equals(OrtDepthPreprocessor.NAME)) {
            Path local = Path.of(depthModel);
            if (Files.exists(local)) return OnnxModelLoader.loadDepthModel(local, options);
            if (!RepoRef.looksLikeHubId(depthModel)) {
                throw new InputFileException("depth model not found: " + depthModel + " (give an ONNX file, a folder, or a Hub id"
                        + " such as " + RunConfig.DEFAULT_DEPTH_MODEL + ")");
            }
            try (ConsoleDownloadProgress downloads = new ConsoleDownloadProgress(System.err)) {
                return OnnxModelLoader.loadDepthModel(ModelStore.defaultStore().hubFile(depthModel, "onnx/model.onnx", downloads),
                        options);
            }
        }
        try {
            return ControlPreprocessors.simple(name);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("control_preprocessor: " + e.getMessage());
        }
    }
}
