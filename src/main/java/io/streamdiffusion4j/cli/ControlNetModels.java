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
 * <p>Sources: a local ControlNet ONNX folder ({@code model.onnx} or {@code controlnet/model.onnx})
 * or file. The UNet with residual inputs is the model folder's {@code unet_control/model.onnx}
 * when it has one, else its {@code unet/model.onnx} (which must then have the residual inputs).
 * Converting diffusers ControlNets and Hub ids, and making the UNet with residual inputs, is the
 * model store's job (the ControlNet converter).
 */
final class ControlNetModels {
    /** The folder of a model that holds its UNet made with ControlNet residual inputs. */
    static final String UNET_WITH_CONTROL = "unet_control";

    private ControlNetModels() {}

    /** Adds the configuration's ControlNets, the UNet they need and the preprocessor to {@code b}. */
    static void configure(StreamDiffusion.Builder b, RunConfig rc, Path modelDir, OnnxModelLoader.Options options)
            throws ConfigException, java.io.IOException {
        if (rc.controlNets().isEmpty()) return;
        for (ControlNetSpec c : rc.controlNets()) b.controlNet(controlNetFile(c.source()), c.scale());
        Path unet = modelDir.resolve(UNET_WITH_CONTROL).resolve("model.onnx");
        if (Files.isRegularFile(unet)) b.unetWithControl(unet);
        b.controlPreprocessor(preprocessor(rc.controlPreprocessor(), rc.controlDepthModel(), options), true);
    }

    /** The ControlNet ONNX graph of {@code source}. */
    static Path controlNetFile(String source) throws ConfigException, InputFileException {
        Path p = Path.of(source);
        if (Files.isRegularFile(p)) return p;
        if (Files.isDirectory(p)) {
            Path f = OnnxModelLoader.controlNetFile(p);
            if (!Files.isRegularFile(f)) {
                throw new InputFileException("ControlNet folder " + p + " has no model.onnx (nor controlnet/model.onnx); make one with"
                        + " 'models create --config tiny-controlnet --to DIR' or convert a diffusers ControlNet");
            }
            return f;
        }
        if (RepoRef.looksLikeHubId(source)) {
            throw new ConfigException("ControlNet " + source + ": Hub ids are not supported by this build yet; download and"
                    + " convert it to a folder, and give the folder");
        }
        throw new InputFileException("ControlNet not found: " + source + " (give a ControlNet ONNX folder or file, or a Hub id)");
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
