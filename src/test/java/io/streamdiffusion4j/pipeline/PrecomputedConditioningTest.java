package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.NativeTensors;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtUnet;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * A stream whose UNet pre-computes its conditioning (K/V and time embeddings, once per prompt,
 * guidance rows and t_index_list) gives the frames of the same stream computing them every
 * frame, through live changes of prompt, negative prompt, guidance and t_index_list; the change
 * shows at the next frame, exactly as a stream that had the new prompt from the start.
 */
class PrecomputedConditioningTest {
    private static final double TOLERANCE = 1e-5;

    private static StableDiffusionModels load(boolean precompute) throws Exception {
        return OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(),
                OnnxModelLoader.Options.defaults().withPrecomputeConditioning(precompute));
    }

    private static List<FloatTensor> frames(int n) {
        TorchGenerator g = new TorchGenerator(3);
        List<FloatTensor> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            FloatTensor t = g.randn(1, 3, 64, 64);
            float[] d = t.data();
            for (int k = 0; k < d.length; k++) d[k] = Math.max(-1f, Math.min(1f, 0.5f * d[k]));
            out.add(t);
        }
        return out;
    }

    /** Runs a cfg-full stream of two steps over {@code input}, applying {@code changes[i]} before frame i. */
    private static List<FloatTensor> run(StableDiffusionModels models, String prompt, List<FloatTensor> input,
                                         List<Consumer<StreamDiffusion>> changes) throws Exception {
        List<FloatTensor> out = new ArrayList<>();
        try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32, 45).size(64, 64)
                .cfgType(CfgType.FULL).seed(2).build()) {
            s.prepare(prompt, "blurry", 50, 1.5, 1.0);
            for (int i = 0; i < input.size(); i++) {
                if (i < changes.size() && changes.get(i) != null) changes.get(i).accept(s);
                out.add(s.img2img(input.get(i)));
            }
        }
        return out;
    }

    @Test
    void liveChangesGiveTheFramesOfAStreamComputingEverythingPerFrame() throws Exception {
        long before = NativeTensors.open();
        List<FloatTensor> input = frames(9);
        List<Consumer<StreamDiffusion>> changes = new ArrayList<>();
        for (int i = 0; i < 9; i++) changes.add(null);
        changes.set(2, s -> s.updatePrompt("a red fox in snow"));
        changes.set(4, s -> s.updatePrompt("a red fox in snow", "dark"));
        changes.set(5, s -> s.updateGuidance(1.0, 1.0)); // no negative rows any more: fewer UNet rows
        changes.set(6, s -> s.updateGuidance(2.0, 0.5));
        changes.set(7, s -> s.updateTIndexList(20, 40)); // same steps, other timesteps
        changes.set(8, s -> s.updateTIndexList(30));     // one step: the batch shrinks
        try (StableDiffusionModels with = load(true); StableDiffusionModels without = load(false)) {
            assertThat(((OrtUnet) with.unet()).precomputes()).isTrue();
            assertThat(((OrtUnet) without.unet()).precomputes()).isFalse();
            List<FloatTensor> a = run(with, "a cat", input, changes);
            List<FloatTensor> b = run(without, "a cat", input, changes);
            for (int i = 0; i < input.size(); i++) assertThat(largestDifference(a.get(i), b.get(i))).as("frame " + i).isLessThanOrEqualTo(TOLERANCE);
            // the prompt change shows at the next frame: frame 2 differs from the stream that kept the old prompt
            List<FloatTensor> kept = run(with, "a cat", input.subList(0, 3), List.of());
            assertThat(largestDifference(a.get(2), kept.get(2))).isGreaterThan(1e-3);
        }
        assertThat(NativeTensors.open()).as("native tensors left open").isEqualTo(before);
    }

    /** The first frame after a prompt change is the first frame of a stream prepared with that prompt (one step: no buffer). */
    @Test
    void aPromptChangeIsExactlyAFreshStreamWithThatPrompt() throws Exception {
        List<FloatTensor> input = frames(3);
        try (StableDiffusionModels models = load(true)) {
            FloatTensor changed;
            FloatTensor fresh;
            try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32).size(64, 64)
                    .cfgType(CfgType.SELF).seed(4).build()) {
                s.prepare("a cat", "", 50, 1.0, 1.0);
                s.img2img(input.get(0));
                s.img2img(input.get(1));
                s.updatePrompt("a lighthouse at dusk");
                // re-seed so the VAE posterior noise and the fixed noise match the fresh stream's first frame
                s.updateSeed(4);
                changed = s.img2img(input.get(2));
            }
            try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32).size(64, 64)
                    .cfgType(CfgType.SELF).seed(4).build()) {
                s.prepare("a lighthouse at dusk", "", 50, 1.0, 1.0);
                fresh = s.img2img(input.get(2));
            }
            assertThat(largestDifference(changed, fresh)).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    private static double largestDifference(FloatTensor x, FloatTensor y) {
        assertThat(x.shape()).containsExactly(y.shape());
        double worst = 0;
        for (int i = 0; i < x.size(); i++) worst = Math.max(worst, Math.abs(x.data()[i] - y.data()[i]));
        return worst;
    }
}
