package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.onnx.Device;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.ProviderSettings;
import io.streamdiffusion4j.onnx.ThreadSettings;
import java.nio.file.Path;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/** How ONNX Runtime runs: device and provider options, threads' spinning, the optimised-model cache. */
final class OnnxRuntimeOptions {
    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda|tensorrt|coreml|auto",
            description = {"Execution provider (default ${DEFAULT-VALUE}). cuda and tensorrt need the GPU build (-Pcuda);",
                    "auto uses CUDA (CoreML on macOS) when it loads, else the CPU, and says so."})
    String device;

    @Option(names = "--device-id", defaultValue = "0", description = "GPU index for cuda and tensorrt (default ${DEFAULT-VALUE}).")
    int deviceId;

    @Option(names = "--cudnn-conv-algo-search", defaultValue = "EXHAUSTIVE", paramLabel = "EXHAUSTIVE|HEURISTIC|DEFAULT",
            description = "cuDNN convolution algorithm search (default ${DEFAULT-VALUE}).")
    String cudnnConvAlgoSearch;

    @Option(names = "--prefer-nhwc", arity = "1", defaultValue = "false", paramLabel = "true|false",
            description = "CUDA: prefer channels-last kernels (default ${DEFAULT-VALUE}).")
    boolean preferNhwc;

    @Option(names = "--use-tf32", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = "CUDA: allow TF32 math on Ampere and later (default ${DEFAULT-VALUE}).")
    boolean useTf32;

    @Option(names = "--trt-fp16", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = "TensorRT: build float16 engines (default ${DEFAULT-VALUE}).")
    boolean tensorRtFp16;

    @Option(names = "--coreml-compute-units", defaultValue = "ALL", paramLabel = "ALL|CPUAndGPU|CPUAndNeuralEngine|CPUOnly",
            description = "CoreML compute units (default ${DEFAULT-VALUE}).")
    String coreMlComputeUnits;

    @Option(names = "--spin", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = "Let idle ONNX Runtime threads spin (default ${DEFAULT-VALUE}).")
    boolean spin;

    @Option(names = "--optimized-model-cache", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = "Cache optimised graphs in the model cache (CPU; default ${DEFAULT-VALUE}).")
    boolean optimizedModelCache;

    @Option(names = "--precompute-conditioning", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = {"Split the UNet so the cross-attention keys/values and time embeddings are computed once per",
                    "prompt and t_index_list, not every frame (default ${DEFAULT-VALUE})."})
    boolean precomputeConditioning;

    /**
     * @param threads intra-op threads, or null for one per core
     * @param cacheRoot the model cache: optimised graphs and TensorRT engines go below it
     */
    OnnxModelLoader.Options loaderOptions(Integer threads, Path cacheRoot, Consumer<String> notices) {
        ThreadSettings t = new ThreadSettings(threads != null ? threads : ThreadSettings.defaults().intraOpThreads(), spin);
        ProviderSettings providers = new ProviderSettings(deviceId, cudnnConvAlgoSearch, preferNhwc, useTf32, tensorRtFp16,
                cacheRoot, coreMlComputeUnits);
        return OnnxModelLoader.Options.defaults()
                .withThreads(t)
                .withDevice(Device.parse(device), providers)
                .withOptimizedModelCache(optimizedModelCache ? cacheRoot.resolve("optimized") : null)
                .withNotices(notices)
                .withPrecomputeConditioning(precomputeConditioning);
    }
}
