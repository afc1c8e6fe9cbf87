package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.convert.Quantization;
import picocli.CommandLine.Option;

/** {@code --quantize}, shared by every command that prepares a model (run, img2img, txt2img, serve, bench, convert). */
final class QuantizeOption {
    @Option(names = "--quantize", paramLabel = "none|int8", defaultValue = "none",
            description = {"int8: linear layers and large convolutions of the UNet in int8 per output channel,",
                    "activations quantized at each call (ONNX Runtime CPU int8 kernels); a quantized copy of the",
                    "model is cached. Not with --fp16. Default: none."})
    String value = "none";

    /** The parsed value, checked against {@code --fp16}; a bad value is bad input (exit 2). */
    Quantization resolve(boolean half) {
        Quantization q = Quantization.parse(value);
        q.requireCompatible(half);
        return q;
    }
}
