package io.streamdiffusion4j.convert;

/** How a model's weights are stored for inference: as they are, or int8 where the CPU runs int8 faster. */
public enum Quantization {
    NONE("none"),
    /**
     * The UNet's linear layers (activations quantized at each call, {@link Int8Quantizer}) and the
     * convolutions of the UNet and TAESD (activation scales calibrated once, {@link StaticInt8Quantizer}) in int8.
     */
    INT8("int8"),
    /** {@link #INT8} for the UNet only; TAESD stays float32 (its int8 costs more quality than the UNet's). */
    INT8_UNET("int8-unet");

    private final String label;

    Quantization(String label) {
        this.label = label;
    }

    /** The name users type ({@code none}, {@code int8}, {@code int8-unet}). */
    public String label() {
        return label;
    }

    /** Whether the UNet is quantized. */
    public boolean unet() {
        return this != NONE;
    }

    /** Whether TAESD is quantized too. */
    public boolean taesd() {
        return this == INT8;
    }

    /** Parses a {@code --quantize} value; a bad one names the accepted values. */
    public static Quantization parse(String value) {
        for (Quantization q : values()) if (q.label.equalsIgnoreCase(value)) return q;
        throw new IllegalArgumentException("--quantize must be none, int8 or int8-unet, found '" + value + "'");
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
