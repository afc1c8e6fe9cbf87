package io.streamdiffusion4j.onnx;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Static shapes, the optimised-model cache, and reused buffers give the same numbers as plain sessions. */
class SessionSetupTest {
    private static final StaticShapes SHAPES = new StaticShapes(2, 1, 1, 64, 64);

    private static FloatTensor embeddings(int rows) {
        return new TorchGenerator(7).randn(rows, 77, 16);
    }

    @Test
    void graphInputsKeepTheirSymbolicNames() throws Exception {
        GraphInputs g = GraphInputs.read(Fixtures.onnxModel().resolve("unet/model.onnx"));
        assertThat(g.inputs()).containsKeys("sample", "timestep", "encoder_hidden_states");
        assertThat(g.inputs().get("sample").get(0).name()).isNotNull();
        assertThat(g.inputs().get("encoder_hidden_states").get(2).value()).isEqualTo(16);
    }

    @Test
    void staticShapesAndTheOptimisedModelCacheChangeNoNumbers(@TempDir Path cache) throws Exception {
        FloatTensor x = new TorchGenerator(3).randn(2, 4, 8, 8);
        long[] t = {359, 99};
        FloatTensor image = new TorchGenerator(4).randn(1, 3, 64, 64);
        FloatTensor expectedEps;
        FloatTensor expectedLatent;
        try (StableDiffusionModels plain = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(),
                OnnxModelLoader.Options.defaults())) {
            expectedEps = plain.unet().predictNoise(x, t, embeddings(2));
            expectedLatent = plain.vae().encoder().encode(image).mean();
        }
        OnnxModelLoader.Options fixed = OnnxModelLoader.Options.defaults().withStaticShapes(SHAPES).withOptimizedModelCache(cache);
        for (String expectedSetup : new String[] {"optimised model saved to", "optimised model from the cache"}) {
            try (StableDiffusionModels m = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), fixed)) {
                OrtUnet unet = (OrtUnet) m.unet();
                assertThat(unet.setup()).contains("static shapes").contains("sample[2, 4, 8, 8]").contains(expectedSetup);
                assertClose("UNet, " + expectedSetup, unet.predictNoise(x, t, embeddings(2)), expectedEps, 1e-5);
                assertClose("TAESD encoder, " + expectedSetup, m.vae().encoder().encode(image).mean(), expectedLatent, 1e-5);
                // a static session takes only its own shapes, and says so
                assertThatThrownBy(() -> unet.predictNoise(new TorchGenerator(3).randn(1, 4, 8, 8), new long[] {359}, embeddings(1)))
                        .hasMessageContaining("UNet").hasMessageContaining("FloatTensor[1, 4, 8, 8]");
            }
        }
    }

    @Test
    void aConfigurationTheModelCannotTakeIsAnError() throws Exception {
        GraphInputs graph = new GraphInputs(Map.of("sample", java.util.List.of(
                new GraphInputs.Dim(-1, "batch"), new GraphInputs.Dim(4, null), new GraphInputs.Dim(64, null), new GraphInputs.Dim(-1, "w"))));
        assertThatThrownBy(() -> SessionShapes.resolve(graph, Map.of("sample", new long[] {1, 4, 32, 32}), Path.of("unet.onnx")))
                .hasMessageContaining("unet.onnx: input 'sample' has a fixed size 64 at axis 2, but this pipeline configuration needs 32");
        GraphInputs shared = new GraphInputs(Map.of(
                "a", java.util.List.of(new GraphInputs.Dim(-1, "batch")), "b", java.util.List.of(new GraphInputs.Dim(-1, "batch"))));
        assertThatThrownBy(() -> SessionShapes.resolve(shared, Map.of("a", new long[] {1}, "b", new long[] {2}), Path.of("m.onnx")))
                .hasMessageContaining("dimension 'batch' would need both");
    }

    /** Pinned outputs are re-made when the batch changes; no call sees a stale buffer. */
    @Test
    void reusedBuffersFollowShapeChanges() throws Exception {
        try (StableDiffusionModels m = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults())) {
            FloatTensor one = new TorchGenerator(5).randn(1, 4, 8, 8);
            FloatTensor two = new TorchGenerator(6).randn(2, 4, 8, 8);
            FloatTensor a = m.unet().predictNoise(one, new long[] {359}, embeddings(1));
            FloatTensor b = m.unet().predictNoise(two, new long[] {359, 99}, embeddings(2));
            FloatTensor c = m.unet().predictNoise(one, new long[] {359}, embeddings(1));
            float[] into = new float[two.size()];
            m.unet().predictNoiseInto(two, new long[] {359, 99}, embeddings(2), into);
            assertThat(c.data()).containsExactly(a.data());
            assertThat(into).containsExactly(b.data());
            assertThat(b.shape()).containsExactly(2, 4, 8, 8);
            assertThat(((OrtUnet) m.unet()).runStats().calls()).isEqualTo(4);
            assertThat(((OrtUnet) m.unet()).runStats().rows()).isEqualTo(6);
        }
    }
}
