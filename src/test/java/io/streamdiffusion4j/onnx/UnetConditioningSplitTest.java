package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The UNet split for pre-computation ({@link UnetConditioningSplit}) gives the plain graph's noise
 * predictions, on an Optimum export and on the project's own converter output: several rows,
 * each at its own timestep, with dynamic and static shapes, fresh and from the optimised-model cache.
 */
class UnetConditioningSplitTest {
    /** The bound for pre-computed against plain outputs. */
    private static final double TOLERANCE = 1e-5;
    private static final long[] TIMESTEPS = {999, 499, 259, 1};

    private static OnnxModelLoader.Options options(boolean precompute) {
        return OnnxModelLoader.Options.defaults().withPrecomputeConditioning(precompute);
    }

    @Test
    void optimumExportSplitsAtTheKeysValuesAndTimeEmbeddings() throws Exception {
        Path model = Fixtures.onnxModel();
        UnetConditioningSplit split = plan(model.resolve("unet/model.onnx"));
        List<String> frontier = split.frontier();
        List<String> moved = split.conditioningNodeNames();
        System.out.println("Optimum fixture UNet: " + frontier.size() + " pre-computed values: " + frontier);
        // 16 cross-attention layers (down 3 x 2, mid 1, up 3 x 3), each with its K and V projection
        assertThat(moved.stream().filter(f -> f.endsWith("attn2/to_k/MatMul")).count()).isEqualTo(16);
        assertThat(moved.stream().filter(f -> f.endsWith("attn2/to_v/MatMul")).count()).isEqualTo(16);
        assertThat(frontier.stream().filter(f -> f.contains("attn2/")).count()).isGreaterThanOrEqualTo(32);
        // nothing of self-attention or the queries (they read the sample) is pre-computed
        assertThat(moved).noneMatch(f -> f.contains("attn1/") || f.contains("to_q/"));
        // 22 ResNets (down 4 x 2, mid 2, up 4 x 3) each take their projection of the time embedding
        assertThat(moved.stream().filter(f -> f.contains("time_emb_proj/")).map(f -> f.substring(0, f.indexOf("time_emb_proj")))
                .distinct().count()).isEqualTo(22);
        assertThat(frontier.stream().filter(f -> f.contains("resnets.")).count()).isEqualTo(22);
        assertThat(split.conditioningInputs()).contains("timestep", "encoder_hidden_states");
        assertSameAsPlain(model, null, 8, 8);
    }

    @Test
    void convertedModelSplitsTheSameWay(@TempDir Path dir) throws Exception {
        Path converted = dir.resolve("onnx");
        DiffusersConverter.convert(Fixtures.dir().resolve("models/tiny-sd-turbo"), converted,
                DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        assertThat(converted.resolve("unet/model.onnx_data")).exists(); // external weights, read through the rewrite
        UnetConditioningSplit split = plan(converted.resolve("unet/model.onnx"));
        System.out.println("converted UNet: " + split.frontier().size() + " pre-computed values: " + split.frontier());
        System.out.println("converted UNet: moved " + split.conditioningNodeNames());
        assertThat(split.frontier()).hasSizeGreaterThanOrEqualTo(32 + 22);
        assertSameAsPlain(converted, null, 8, 8);
    }

    @Test
    void staticShapesAndTheOptimisedModelCacheKeepTheSplit(@TempDir Path dir) throws Exception {
        Path model = Fixtures.onnxModel();
        StaticShapes shapes = new StaticShapes(TIMESTEPS.length, 1, 1, 64, 64);
        for (int load = 0; load < 2; load++) {
            OnnxModelLoader.Options o = options(true).withStaticShapes(shapes).withOptimizedModelCache(dir.resolve("cache"));
            String setup = assertSameAsPlain(model, o, 8, 8);
            assertThat(setup).contains("static shapes").contains("conditioning pre-computed");
            assertThat(setup).contains(load == 0 ? "optimised model saved to" : "optimised model from the cache");
        }
    }

    private static UnetConditioningSplit plan(Path unet) throws Exception {
        Optional<UnetConditioningSplit> p = UnetConditioningSplit.plan(Files.readAllBytes(unet), unet, "sample", "timestep",
                "encoder_hidden_states");
        assertThat(p).isPresent();
        return p.get();
    }

    /** Compares the split UNet with the plain one on random rows; returns the split UNet's setup. */
    private static String assertSameAsPlain(Path model, OnnxModelLoader.Options splitOptions, int h, int w) throws Exception {
        long tensorsBefore = NativeTensors.open();
        String setup;
        TorchGenerator g = new TorchGenerator(7);
        int rows = TIMESTEPS.length;
        FloatTensor x = g.randn(rows, 4, h, w);
        FloatTensor e = g.randn(rows, 77, 16);
        FloatTensor x2 = g.randn(rows, 4, h, w);
        try (StableDiffusionModels plain = OnnxModelLoader.load(model, Fixtures.taesd(), options(false));
             StableDiffusionModels split = OnnxModelLoader.load(model, Fixtures.taesd(),
                     splitOptions != null ? splitOptions : options(true))) {
            OrtUnet p = (OrtUnet) plain.unet();
            OrtUnet s = (OrtUnet) split.unet();
            assertThat(p.precomputes()).isFalse();
            assertThat(s.precomputes()).isTrue();
            setup = s.setup();
            FloatTensor expected = p.predictNoise(x, TIMESTEPS, e);
            FloatTensor expected2 = p.predictNoise(x2, TIMESTEPS, e);
            // the one-call path (prepare, run, release) and a prepared conditioning reused over two samples
            assertClose(s.predictNoise(x, TIMESTEPS, e), expected);
            try (Unet.Conditioning c = s.prepare(x.shape(), TIMESTEPS, e)) {
                float[] out = new float[x.size()];
                s.predictNoiseInto(x, c, out);
                assertClose(new FloatTensor(out, x.shape()), expected);
                s.predictNoiseInto(x2, c, out);
                assertClose(new FloatTensor(out, x.shape()), expected2);
            }
        }
        assertThat(NativeTensors.open()).as("native tensors left open").isEqualTo(tensorsBefore);
        return setup;
    }

    private static void assertClose(FloatTensor actual, FloatTensor expected) {
        assertThat(actual.shape()).containsExactly(expected.shape());
        double worst = 0;
        for (int i = 0; i < actual.size(); i++) worst = Math.max(worst, Math.abs(actual.data()[i] - expected.data()[i]));
        System.out.printf("split against plain: largest difference %.3g%n", worst);
        assertThat(worst).isLessThanOrEqualTo(TOLERANCE);
    }
}
