package io.streamdiffusion4j.onnx;

import java.util.Locale;

/** Where the user asks the models to run ({@code --device}). */
public enum Device {
    /** ONNX Runtime's CPU execution provider (the default; in every build). */
    CPU("cpu"),
    /** NVIDIA CUDA; needs the GPU build (onnxruntime_gpu) and CUDA 12 + cuDNN 9 libraries. */
    CUDA("cuda"),
    /** NVIDIA TensorRT (falls back to CUDA per operator); needs TensorRT 10 as well. */
    TENSORRT("tensorrt"),
    /** Apple CoreML; in ONNX Runtime's macOS builds only. */
    COREML("coreml"),
    /** The best provider that loads here (CoreML on macOS, else CUDA), else the CPU, saying so. */
    AUTO("auto");

    private final String key;

    Device(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    public static Device parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        for (Device d : values()) {
            if (d.key.equals(v)) return d;
        }
        throw new IllegalArgumentException("unknown device '" + value + "'; expected one of cpu, cuda, tensorrt, coreml, auto");
    }

    @Override
    public String toString() {
        return key;
    }
}
