package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.StreamDiffusion;

/** Glue between the parsed options and the library. */
final class Cli {
    private Cli() {}

    static StreamDiffusion.Builder builder(RunConfig rc, RunOptions options) {
        OnnxModelLoader.Options defaults = OnnxModelLoader.Options.defaults();
        OnnxModelLoader.Options onnx = options.threads == null ? defaults
                : new OnnxModelLoader.Options(options.threads, defaults.optimization());
        return StreamDiffusion.builder()
                .config(rc.streamConfig())
                .model(options.model)
                .taesd(options.taesd)
                .useTinyVae(rc.useTinyVae())
                .onnxOptions(onnx);
    }
}
