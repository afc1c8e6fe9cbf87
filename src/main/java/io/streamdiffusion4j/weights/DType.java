package io.streamdiffusion4j.weights;

/** Element types of stored weights, with their safetensors names and sizes. */
public enum DType {
    F32("F32", 4),
    F16("F16", 2),
    BF16("BF16", 2),
    F64("F64", 8),
    I64("I64", 8),
    I32("I32", 4),
    I8("I8", 1),
    U8("U8", 1),
    BOOL("BOOL", 1);

    private final String safetensorsName;
    private final int size;

    DType(String safetensorsName, int size) {
        this.safetensorsName = safetensorsName;
        this.size = size;
    }

    public int size() {
        return size;
    }

    public String safetensorsName() {
        return safetensorsName;
    }

    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** The dtype of a safetensors header, or null when unknown. */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) return d;
        }
        return null;
    }
}
