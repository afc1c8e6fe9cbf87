package io.streamdiffusion4j.onnx;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * The knobs of the GPU execution providers; each provider reads the ones that concern it.
 *
 * @param deviceId the GPU to use (CUDA, TensorRT)
 * @param cudnnConvAlgoSearch cuDNN's convolution algorithm search: EXHAUSTIVE (best kernels, slow
 *     first call per shape; right for static shapes), HEURISTIC or DEFAULT
 * @param preferNhwc let the CUDA provider use channels-last kernels (faster convolutions on tensor cores)
 * @param useTf32 allow TF32 matmuls and convolutions on Ampere and later (float32 models only)
 * @param tensorRtFp16 let TensorRT build float16 engines
 * @param cacheRoot where TensorRT engines (and CoreML compiled models) are cached; null: no cache
 * @param coreMlComputeUnits CoreML's MLComputeUnits: ALL, CPUAndGPU, CPUAndNeuralEngine or CPUOnly
 */
public record ProviderSettings(int deviceId, String cudnnConvAlgoSearch, boolean preferNhwc, boolean useTf32,
                               boolean tensorRtFp16, Path cacheRoot, String coreMlComputeUnits) {
    private static final Set<String> ALGO_SEARCH = Set.of("EXHAUSTIVE", "HEURISTIC", "DEFAULT");
    private static final Set<String> COMPUTE_UNITS = Set.of("ALL", "CPUAndGPU", "CPUAndNeuralEngine", "CPUOnly");

    public ProviderSettings {
        if (deviceId < 0) throw new IllegalArgumentException("device id must be >= 0, found " + deviceId);
        cudnnConvAlgoSearch = cudnnConvAlgoSearch.toUpperCase(Locale.ROOT);
        if (!ALGO_SEARCH.contains(cudnnConvAlgoSearch)) {
            throw new IllegalArgumentException("cudnn_conv_algo_search must be EXHAUSTIVE, HEURISTIC or DEFAULT, found "
                    + cudnnConvAlgoSearch);
        }
        if (!COMPUTE_UNITS.contains(coreMlComputeUnits)) {
            throw new IllegalArgumentException("CoreML compute units must be ALL, CPUAndGPU, CPUAndNeuralEngine or CPUOnly,"
                    + " found " + coreMlComputeUnits);
        }
    }

    /** GPU 0, exhaustive cuDNN search (shapes are static per stream), NHWC off, TF32 on, TensorRT fp16 on, no cache. */
    public static ProviderSettings defaults() {
        return new ProviderSettings(0, "EXHAUSTIVE", false, true, true, null, "ALL");
    }

    public ProviderSettings withCacheRoot(Path root) {
        return new ProviderSettings(deviceId, cudnnConvAlgoSearch, preferNhwc, useTf32, tensorRtFp16, root, coreMlComputeUnits);
    }
}
