package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Provider selection, options and errors, without a GPU: the CPU jar's real provider list, and
 * simulated GPU builds whose libraries load or fail to load.
 */
class ExecutionProvidersTest {
    private static final ProviderSettings SETTINGS = ProviderSettings.defaults().withCacheRoot(Path.of("/cache"));
    private static final EnumSet<OrtProvider> CPU_ONLY = EnumSet.of(OrtProvider.CPU);
    private static final EnumSet<OrtProvider> GPU_BUILD = EnumSet.of(OrtProvider.CPU, OrtProvider.CUDA, OrtProvider.TENSOR_RT);
    private static final ExecutionProviders.Probe LOADS = p -> {};
    private static final ExecutionProviders.Probe MISSING_CUDA = p -> {
        throw new OrtException("Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: "
                + "cannot open shared object file: No such file or directory");
    };

    private static ExecutionProviders.Selection select(Device d, EnumSet<OrtProvider> available, String os,
                                                       ExecutionProviders.Probe probe) throws Exception {
        return ExecutionProviders.select(d, SETTINGS, available, os, probe);
    }

    @Test
    void cpuIsTheDefaultAndAlwaysThere() throws Exception {
        assertThat(OnnxModelLoader.Options.defaults().device()).isEqualTo(Device.CPU);
        ExecutionProviders.Selection s = ExecutionProviders.select(Device.CPU, SETTINGS);
        assertThat(s.provider()).isInstanceOf(ExecutionProvider.Cpu.class);
        assertThat(s.notice()).isNull();
    }

    @Test
    void gpuProvidersMissingFromTheBuildSayHowToGetThem() {
        assertThat(OrtEnvironment.getAvailableProviders()).contains(OrtProvider.CPU);
        assertThatThrownBy(() -> select(Device.CUDA, CPU_ONLY, "Linux", LOADS))
                .isInstanceOf(ExecutionProviderException.class)
                .hasMessageContaining("cuda was asked for")
                .hasMessageContaining("has no CUDAExecutionProvider")
                .hasMessageContaining("-Pcuda")
                .hasMessageContaining("onnxruntime_gpu");
        assertThatThrownBy(() -> select(Device.TENSORRT, CPU_ONLY, "Linux", LOADS))
                .hasMessageContaining("has no TensorrtExecutionProvider");
        assertThatThrownBy(() -> select(Device.COREML, CPU_ONLY, "Linux", LOADS))
                .hasMessageContaining("CoreML runs only on macOS");
        assertThatThrownBy(() -> select(Device.COREML, CPU_ONLY, "Mac OS X", LOADS))
                .hasMessageContaining("macOS build");
    }

    @Test
    void aProviderWhoseLibrariesDoNotLoadNamesThem() {
        assertThatThrownBy(() -> select(Device.CUDA, GPU_BUILD, "Linux", MISSING_CUDA))
                .isInstanceOf(ExecutionProviderException.class)
                .hasMessageContaining("cuda was asked for but cannot be loaded")
                .hasMessageContaining("CUDA 12")
                .hasMessageContaining("cuDNN 9 (libcudnn.so.9)")
                .hasMessageContaining("libcublasLt.so.12: cannot open shared object file");
        assertThatThrownBy(() -> select(Device.TENSORRT, GPU_BUILD, "Linux", MISSING_CUDA))
                .hasMessageContaining("TensorRT 10 (libnvinfer.so.10");
    }

    @Test
    void autoFallsBackToTheCpuAndSaysWhy() throws Exception {
        ExecutionProviders.Selection noGpuJar = select(Device.AUTO, CPU_ONLY, "Linux", LOADS);
        assertThat(noGpuJar.provider()).isInstanceOf(ExecutionProvider.Cpu.class);
        assertThat(noGpuJar.notice()).contains("device auto").contains("no CUDAExecutionProvider").contains("running on the CPU");

        ExecutionProviders.Selection noLibraries = select(Device.AUTO, GPU_BUILD, "Linux", MISSING_CUDA);
        assertThat(noLibraries.provider()).isInstanceOf(ExecutionProvider.Cpu.class);
        assertThat(noLibraries.notice()).contains("libcublasLt.so.12").contains("running on the CPU");

        assertThat(select(Device.AUTO, GPU_BUILD, "Linux", LOADS).provider()).isInstanceOf(ExecutionProvider.Cuda.class);
        assertThat(select(Device.AUTO, EnumSet.of(OrtProvider.CPU, OrtProvider.CORE_ML), "Mac OS X", LOADS).provider())
                .isInstanceOf(ExecutionProvider.CoreMl.class);
        // The real CPU jar on this machine: auto runs on the CPU, with the reason
        ExecutionProviders.Selection real = ExecutionProviders.select(Device.AUTO, SETTINGS);
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            assertThat(real.provider()).isInstanceOf(ExecutionProvider.Cpu.class);
            assertThat(real.notice()).contains("running on the CPU");
        }
    }

    @Test
    void namedProvidersThatLoadAreUsed() throws Exception {
        assertThat(select(Device.CUDA, GPU_BUILD, "Linux", LOADS).provider()).isEqualTo(ExecutionProvider.Cuda.of(SETTINGS));
        ExecutionProviders.Selection trt = select(Device.TENSORRT, GPU_BUILD, "Linux", LOADS);
        assertThat(trt.provider()).isInstanceOf(ExecutionProvider.TensorRt.class);
        assertThat(trt.notice()).isNull();
    }

    @Test
    void cudaOptions() {
        ProviderSettings s = new ProviderSettings(1, "heuristic", true, false, true, null, "ALL");
        assertThat(ExecutionProvider.Cuda.of(s).options()).containsExactly(
                Map.entry("device_id", "1"), Map.entry("cudnn_conv_algo_search", "HEURISTIC"), Map.entry("prefer_nhwc", "1"),
                Map.entry("use_tf32", "0"), Map.entry("do_copy_in_default_stream", "1"));
    }

    @Test
    void tensorRtGetsOneStaticProfileAndAnEngineCachePerModelAndShapes() {
        GraphInputs graph = new GraphInputs(Map.of(
                "sample", java.util.List.of(dim("batch_size"), dim("num_channels"), dim("height"), dim("width")),
                "timestep", java.util.List.of(dim("steps")),
                "encoder_hidden_states", java.util.List.of(dim("batch_size"), dim("sequence_length"), new GraphInputs.Dim(1024, null))));
        SessionShapes shapes = SessionShapes.resolve(graph,
                OrtUnetShapes.of(new StaticShapes(3, 1, 1, 320, 192), 4, 1024), Path.of("unet/model.onnx"));
        ExecutionProvider.TensorRt trt = ExecutionProvider.TensorRt.of(SETTINGS);
        Map<String, String> o = trt.options("abc123", shapes);
        String profile = "encoder_hidden_states:3x77x1024,sample:3x4x24x40,timestep:3";
        assertThat(o).containsEntry("trt_fp16_enable", "1")
                .containsEntry("trt_profile_min_shapes", profile)
                .containsEntry("trt_profile_opt_shapes", profile)
                .containsEntry("trt_profile_max_shapes", profile)
                .containsEntry("trt_engine_cache_enable", "1")
                .containsEntry("trt_engine_cache_path", "/cache/tensorrt/abc123-3x77x1024_3x4x24x40_3-fp16")
                .containsEntry("trt_timing_cache_path", "/cache/tensorrt");
        // another batch is another engine
        SessionShapes four = SessionShapes.resolve(graph, OrtUnetShapes.of(new StaticShapes(4, 1, 1, 320, 192), 4, 1024), null);
        assertThat(trt.options("abc123", four).get("trt_engine_cache_path")).isNotEqualTo(o.get("trt_engine_cache_path"));
        // dynamic shapes: no profile, TensorRT builds for what it sees
        assertThat(trt.options("abc123", SessionShapes.dynamic(graph))).doesNotContainKey("trt_profile_min_shapes");
    }

    @Test
    void coreMlOptions() {
        GraphInputs graph = new GraphInputs(Map.of("input_ids", java.util.List.of(dim("batch"), dim("sequence"))));
        SessionShapes shapes = SessionShapes.resolve(graph, Map.of("input_ids", new long[] {1, 77}), null);
        assertThat(ExecutionProvider.CoreMl.of(SETTINGS).options("k", shapes))
                .containsEntry("ModelFormat", "MLProgram").containsEntry("MLComputeUnits", "ALL")
                .containsEntry("RequireStaticInputShapes", "1")
                .containsEntry("ModelCacheDirectory", "/cache/coreml/k-1x77");
    }

    @Test
    void badSettingsAreRejectedWithTheAllowedValues() {
        assertThatThrownBy(() -> Device.parse("gpu")).hasMessageContaining("unknown device 'gpu'")
                .hasMessageContaining("cpu, cuda, tensorrt, coreml, auto");
        assertThatThrownBy(() -> new ProviderSettings(0, "fast", false, true, true, null, "ALL"))
                .hasMessageContaining("EXHAUSTIVE, HEURISTIC or DEFAULT, found FAST");
        assertThatThrownBy(() -> new ProviderSettings(-1, "DEFAULT", false, true, true, null, "ALL"))
                .hasMessageContaining("device id must be >= 0");
    }

    /** Asking for CUDA on the CPU jar fails before any model is loaded, naming what is missing. */
    @Test
    void loadingOnAMissingProviderIsAnError() {
        if (OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) return; // a GPU build: nothing to check here
        OnnxModelLoader.Options cuda = OnnxModelLoader.Options.defaults().withDevice(Device.CUDA, ProviderSettings.defaults());
        assertThatThrownBy(() -> OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), cuda))
                .isInstanceOf(ExecutionProviderException.class)
                .hasMessageContaining("has no CUDAExecutionProvider");
    }

    private static GraphInputs.Dim dim(String name) {
        return new GraphInputs.Dim(-1, name);
    }

    /** The UNet's wanted shapes with the channel counts a config.json would give. */
    private static final class OrtUnetShapes {
        static Map<String, long[]> of(StaticShapes s, int channels, int crossDim) {
            return Map.of(
                    "sample", new long[] {s.unetRows(), channels, s.latentHeight(), s.latentWidth()},
                    "timestep", new long[] {s.unetRows()},
                    "encoder_hidden_states", new long[] {s.unetRows(), StaticShapes.TEXT_SEQUENCE, crossDim});
        }
    }
}
