package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.IpAdapterSettings;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.convert.IpAdapterFolder;
import io.streamdiffusion4j.convert.IpAdapterStore;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.hub.ConsoleDownloadProgress;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.IpAdapterStyle;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --ip-adapter} and {@code --style-image}: an IP-Adapter built into the model's UNet, and its style image. */
final class IpAdapterOptions {
    @Option(names = "--ip-adapter", paramLabel = "DIR|FILE|ID[:SCALE]",
            description = {"IP-Adapter (image prompt): a folder with ip-adapter.safetensors (or one ip-adapter*.safetensors)",
                    "and image_encoder/, in it or in models/ (h94/IP-Adapter's layout), the .safetensors file with",
                    "image_encoder/ beside it, or a Hub id: h94/IP-Adapter (its models/ip-adapter_sd15.safetensors) or",
                    "org/name/path/adapter.safetensors[@revision]; SCALE defaults to 1. Built into the model's UNet once",
                    "and cached. SD 1.5 / 2.1 adapters with the plain image projection only (not SDXL, plus, full-face)."})
    String ipAdapter;

    @Option(names = "--style-image", paramLabel = "FILE",
            description = "The IP-Adapter's style image (without one the adapter adds nothing until a style image is set).")
    Path styleImage;

    /** The adapter spec split into its path and scale. */
    record Spec(Path path, double scale) {}

    static Spec parse(String spec) throws ConfigException {
        int colon = spec.lastIndexOf(':');
        if (colon > 0 && !Files.exists(Path.of(spec))) {
            String s = spec.substring(colon + 1);
            double scale;
            try {
                scale = Double.parseDouble(s);
            } catch (NumberFormatException e) {
                throw new ConfigException("--ip-adapter " + spec + ": the scale after ':' must be a number, found '" + s + "'");
            }
            if (!Double.isFinite(scale) || scale < 0 || scale > IpAdapterStyle.MAX_SCALE) {
                throw new ConfigException("--ip-adapter " + spec + ": the scale must be between 0 and " + IpAdapterStyle.MAX_SCALE
                        + ", found " + s);
            }
            return new Spec(Path.of(spec.substring(0, colon)), scale);
        }
        return new Spec(Path.of(spec), 1.0);
    }

    /** What the run config asks for, made ready: the adapter built into the model, its scale, the style image (or null). */
    record Prepared(IpAdapterStore.Variant variant, double scale, RgbImage style) {}

    /** Builds the run's adapter into the resolved model (once, cached); null without one. */
    static Prepared prepare(RunConfig rc, Path onnxModel, ImageSizeLimit limit) throws IOException, ConfigException {
        IpAdapterSettings s = rc.ipAdapter();
        if (s == null) return null;
        RgbImage style = s.styleImage() == null ? null : ImageFiles.read(Path.of(s.styleImage()), limit); // fail fast
        IpAdapterFolder folder;
        try (ConsoleDownloadProgress downloads = new ConsoleDownloadProgress(System.err)) {
            folder = ModelStore.defaultStore().ipAdapter(s.adapter(), downloads); // a folder, a file or a Hub id
        }
        try (Progress p = new Progress("prepare IP-Adapter", System.err)) {
            return new Prepared(IpAdapterStore.prepare(ModelStore.defaultStore().root(), onnxModel, folder, p), s.scale(), style);
        }
    }

    /** Sets the run's adapter and style image on the builder (nothing without one); returns what it set, or null. */
    static Prepared apply(StreamDiffusion.Builder b, RunConfig rc, Path onnxModel, ImageSizeLimit limit)
            throws IOException, ConfigException {
        Prepared p = prepare(rc, onnxModel, limit);
        if (p == null) return null;
        b.ipAdapter(p.variant(), p.scale());
        if (p.style() != null) b.styleImage(p.style());
        return p;
    }

    /**
     * The folder whose {@code unet/} the ControlNets' UNet with residual inputs is made from: the
     * adapter's (its UNet takes the image tokens) when there is one, else the model's.
     */
    static Path unetSource(Prepared p, Path onnxModel) {
        return p == null ? onnxModel : p.variant().unet().getParent();
    }
}
