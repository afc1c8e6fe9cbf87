package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtSession;
import java.nio.file.Path;

/**
 * Everything an optimised graph depends on, and so the name of its entry in the optimised-model
 * cache: the model files ({@link ModelKey}), the input shapes it was specialised to, the execution
 * provider that optimised it, the optimisation level, the ONNX Runtime version that wrote it
 * (the saved format and the fused operators change between versions) and the CPU architecture
 * (the highest level bakes in CPU-specific layouts). A change in any of them gives another entry.
 */
record OptimizedModelKey(String model, String shapes, String provider, String optimization, String runtimeVersion,
                         String architecture) {

    static OptimizedModelKey of(String modelKey, SessionShapes shapes, ExecutionProvider provider,
                                OrtSession.SessionOptions.OptLevel level) {
        return new OptimizedModelKey(modelKey, shapes.key(), provider.key(), level.name(), OrtRuntime.version(),
                System.getProperty("os.arch", ""));
    }

    /** The entry's folder name: the model's folder name (for people looking in the cache) and a digest of the key. */
    String folderName(Path modelFile) {
        Path parent = modelFile.toAbsolutePath().getParent();
        String readable = parent != null && parent.getFileName() != null ? parent.getFileName().toString() : "model";
        return readable + "-" + ModelKey.of(model, shapes, provider, optimization, runtimeVersion, architecture);
    }
}
