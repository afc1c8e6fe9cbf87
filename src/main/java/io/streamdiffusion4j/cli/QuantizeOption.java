package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.convert.Quantization;
import picocli.CommandLine.Option;

/** {@code --quantize}, shared by every command that prepares a model (run, img2img, txt2img, serve, bench, convert). */
final class QuantizeOption {
    @Option(names = "--quantize", paramLabel = "none|int8|int8-unet", defaultValue = "none",
            description = {"int8: the UNet and TAESD in int8 on the CPU (linear layers with activations quantized",
                    "at each call; convolutions with activation scales calibrated once); int8-unet: the UNet only,",
                    "TAESD float32 (better quality, slower). int8 copies are made once and cached. Not with --fp16.",
                    "Default: none."})
    String value = "none";

    /** The parsed value, checked against {@code --fp16}; a bad value is bad input (exit 2). */
    Quantization resolve(boolean half) {
        Quantization q = Quantization.parse(value);
        q.requireCompatible(half);
        return q;
    }

    /**
     * {@link #resolve(boolean)}, also checked against {@code --device}: the int8 forms are ONNX
     * Runtime's CPU kernels, which a GPU provider would hand back to the CPU node by node.
     */
    Quantization resolve(boolean half, String device) {
        Quantization q = resolve(half);
        if (q != Quantization.NONE && !device.equalsIgnoreCase("cpu") && !device.equalsIgnoreCase("auto")) {
            throw new IllegalArgumentException("--quantize " + q.label() + " makes a model for ONNX Runtime's CPU int8 kernels,"
                    + " not for --device " + device + " (it would run those layers on the CPU); on a GPU use --fp16");
        }
        return q;
    }
}
