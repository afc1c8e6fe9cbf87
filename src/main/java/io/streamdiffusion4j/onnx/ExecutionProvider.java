package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtProvider;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An ONNX Runtime execution provider with its options, as passed to ONNX Runtime (string keys).
 * The option maps are plain data, so they can be checked without the provider's libraries.
 */
public sealed interface ExecutionProvider {

    /** The name used on the command line and in reports. */
    String key();

    /** ONNX Runtime's name for it, as listed by {@code OrtEnvironment.getAvailableProviders()}. */
    OrtProvider ortProvider();

    /** What the provider needs on this machine besides the jar, for error messages. */
    String requirements();

    /** ONNX Runtime's CPU provider: always there, no options. */
    record Cpu() implements ExecutionProvider {
        @Override
        public String key() {
            return "cpu";
        }

        @Override
        public OrtProvider ortProvider() {
            return OrtProvider.CPU;
        }

        @Override
        public String requirements() {
            return "nothing";
        }
    }

    /** NVIDIA CUDA. */
    record Cuda(int deviceId, String cudnnConvAlgoSearch, boolean preferNhwc, boolean useTf32) implements ExecutionProvider {
        static final String LIBRARIES = "the CUDA 12 runtime (libcudart.so.12, libcublas.so.12, libcublasLt.so.12,"
                + " libcufft.so.11, libcurand.so.10) and cuDNN 9 (libcudnn.so.9) on the library path (LD_LIBRARY_PATH)";

        static Cuda of(ProviderSettings s) {
            return new Cuda(s.deviceId(), s.cudnnConvAlgoSearch(), s.preferNhwc(), s.useTf32());
        }

        @Override
        public String key() {
            return "cuda";
        }

        @Override
        public OrtProvider ortProvider() {
            return OrtProvider.CUDA;
        }

        @Override
        public String requirements() {
            return "ONNX Runtime's GPU build (the onnxruntime_gpu artifact: build with -Pcuda), an NVIDIA driver and "
                    + LIBRARIES;
        }

        /** The CUDA provider's options (ONNX Runtime's {@code OrtCUDAProviderOptionsV2} keys). */
        public Map<String, String> options() {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("device_id", Integer.toString(deviceId));
            o.put("cudnn_conv_algo_search", cudnnConvAlgoSearch);
            o.put("prefer_nhwc", flag(preferNhwc));
            o.put("use_tf32", flag(useTf32));
            // Inputs are copied host to device on the compute stream, so no extra synchronisation is needed.
            o.put("do_copy_in_default_stream", "1");
            return o;
        }
    }

    /**
     * NVIDIA TensorRT; operators TensorRT does not take run on CUDA with {@link #cuda}'s options.
     * Engines are built for the session's static input shapes (any size, not only 512x512) and
     * cached per model and shapes, because building one takes minutes.
     */
    record TensorRt(int deviceId, boolean fp16, Path cacheRoot, Cuda cuda) implements ExecutionProvider {
        static TensorRt of(ProviderSettings s) {
            return new TensorRt(s.deviceId(), s.tensorRtFp16(), s.cacheRoot(), Cuda.of(s));
        }

        @Override
        public String key() {
            return "tensorrt";
        }

        @Override
        public OrtProvider ortProvider() {
            return OrtProvider.TENSOR_RT;
        }

        @Override
        public String requirements() {
            return "ONNX Runtime's GPU build (the onnxruntime_gpu artifact: build with -Pcuda), an NVIDIA driver,"
                    + " TensorRT 10 (libnvinfer.so.10, libnvonnxparser.so.10) and " + Cuda.LIBRARIES;
        }

        /**
         * The TensorRT provider's options for one session.
         *
         * @param modelKey identifies the model file (see {@link ModelKey})
         * @param shapes the session's input shapes; when all are static they become the one
         *     optimisation profile (min = opt = max) and part of the engine cache's key
         */
        public Map<String, String> options(String modelKey, SessionShapes shapes) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("device_id", Integer.toString(deviceId));
            o.put("trt_fp16_enable", flag(fp16));
            String profile = shapes.tensorRtProfile();
            if (profile != null) {
                o.put("trt_profile_min_shapes", profile);
                o.put("trt_profile_opt_shapes", profile);
                o.put("trt_profile_max_shapes", profile);
            }
            if (cacheRoot != null) {
                Path dir = cacheRoot.resolve("tensorrt");
                o.put("trt_engine_cache_enable", "1");
                // One folder per model, shapes and precision: a stream of another size or batch never
                // picks up an engine built for different shapes.
                o.put("trt_engine_cache_path", dir.resolve(modelKey + "-" + shapes.key() + (fp16 ? "-fp16" : "-fp32")).toString());
                o.put("trt_timing_cache_enable", "1");
                o.put("trt_timing_cache_path", dir.toString());
            }
            return o;
        }
    }

    /** Apple CoreML (macOS builds of ONNX Runtime). */
    record CoreMl(String computeUnits, Path cacheRoot) implements ExecutionProvider {
        static CoreMl of(ProviderSettings s) {
            return new CoreMl(s.coreMlComputeUnits(), s.cacheRoot());
        }

        @Override
        public String key() {
            return "coreml";
        }

        @Override
        public OrtProvider ortProvider() {
            return OrtProvider.CORE_ML;
        }

        @Override
        public String requirements() {
            return "macOS and ONNX Runtime's macOS build (CoreML.framework)";
        }

        /** The CoreML provider's options (ONNX Runtime's string keys). */
        public Map<String, String> options(String modelKey, SessionShapes shapes) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("ModelFormat", "MLProgram");
            o.put("MLComputeUnits", computeUnits);
            o.put("RequireStaticInputShapes", flag(shapes.allStatic()));
            if (cacheRoot != null) o.put("ModelCacheDirectory", cacheRoot.resolve("coreml").resolve(modelKey + "-" + shapes.key()).toString());
            return o;
        }
    }

    private static String flag(boolean b) {
        return b ? "1" : "0";
    }
}
