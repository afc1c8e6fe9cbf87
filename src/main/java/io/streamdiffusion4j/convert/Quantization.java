package io.streamdiffusion4j.convert;

import java.util.Locale;

/** How a model's weights are stored for inference: as they are, or int8 where the CPU runs int8 faster. */
public enum Quantization {
    NONE,
    /** Linear and large convolution layers in int8 per output channel, activations quantized at each call ({@link Int8Quantizer}). */
    INT8;

    /** The name users type ({@code none}, {@code int8}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a {@code --quantize} value; a bad one names the accepted values. */
    public static Quantization parse(String value) {
        for (Quantization q : values()) if (q.label().equals(value.toLowerCase(Locale.ROOT))) return q;
        throw new IllegalArgumentException("--quantize must be none or int8, found '" + value + "'");
    }

    /**
     * Refuses combinations that cannot run: the int8 kernels ONNX Runtime's CPU provider has
     * (DynamicQuantizeMatMul, DynamicQuantizeLinear) take float32 activations, not float16.
     */
    public void requireCompatible(boolean half) {
        if (this != NONE && half) {
            throw new IllegalArgumentException("--quantize " + label() + " cannot be combined with --fp16: the int8 layers"
                    + " take float32 activations; choose one of them");
        }
    }
}
