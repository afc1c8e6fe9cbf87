package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Prompt and seed blending through the whole stream on stand-in models: one-entry blends are the
 * single prompt and seed bit for bit, a blend conditions the UNet on the blended embedding, a seed
 * blend's fixed noise is the formula of {@link Blending#noise} over torch draws, and a live prompt
 * change with a transition walks from the old embedding to the new over N frames.
 */
class PromptSeedBlendStreamTest {
    private static final int SIZE = 32;

    private static FloatTensor frames(long seed) {
        FloatTensor t = new TorchGenerator(seed).randn(1, 3, SIZE, SIZE);
        for (int i = 0; i < t.size(); i++) t.data()[i] = Math.clamp(t.data()[i] * 0.4f, -1f, 1f);
        return t;
    }

    private static StreamDiffusion.Builder builder(StandInModels sm) {
        return StreamDiffusion.builder().models(sm.models(true, 0.18215f)).size(SIZE, SIZE).cfgType(CfgType.SELF);
    }

    private static List<FloatTensor> run(StreamDiffusion s, int frames) {
        List<FloatTensor> out = new ArrayList<>();
        for (int i = 0; i < frames; i++) out.add(s.img2img(frames(100 + i)));
        return out;
    }

    /** The positive embedding of UNet call {@code i} (the stand-in records every call; cfg self has no negative rows). */
    private static float[] positiveOfCall(StandInModels sm, int i) {
        return sm.unet.calls.get(i).hiddenStates().rows(0, 1).data();
    }

    @Test
    void oneEntryBlendsAreTheSinglePromptAndSeedBitForBit() throws Exception {
        StandInModels plain = StandInModels.create();
        StandInModels blended = StandInModels.create();
        try (StreamDiffusion a = builder(plain).seed(5).build();
             StreamDiffusion b = builder(blended).seedBlend(new SeedBlend(List.of(new WeightedSeed(5, 3), new WeightedSeed(9, 0)))).build()) {
            a.prepare("a fox", "", 50, 1.2, 1.0);
            b.prepare(new PromptBlend(List.of(new WeightedPrompt("a fox", 2), new WeightedPrompt("a cat", 0)), Interpolation.SLERP),
                    "", 50, 1.2, 1.0);
            assertThat(b.seed()).isEqualTo(5);
            assertClose("init noise", b.streamBatch().initNoise().data(), a.streamBatch().initNoise().data(), 0);
            List<FloatTensor> ra = run(a, 3), rb = run(b, 3);
            for (int i = 0; i < 3; i++) assertClose("frame " + i, rb.get(i).data(), ra.get(i).data(), 0);
            a.updateSeed(11);
            b.updateSeedBlend(new SeedBlend(List.of(new WeightedSeed(11, 1))));
            a.updatePrompt("a dog");
            b.updatePromptBlend(new PromptBlend(List.of(new WeightedPrompt("a dog", 1)), Interpolation.LINEAR));
            ra = run(a, 2);
            rb = run(b, 2);
            for (int i = 0; i < 2; i++) assertClose("after the change, frame " + i, rb.get(i).data(), ra.get(i).data(), 0);
        }
    }

    @Test
    void aTwoPromptBlendConditionsTheUnetOnTheWeightedEmbedding() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm).build()) {
            s.prepare(new PromptBlend(List.of(new WeightedPrompt("a fox", 1), new WeightedPrompt("a cat", 3)), Interpolation.LINEAR),
                    "", 50, 1.2, 1.0);
            run(s, 1);
            float[] fox = s.prompts().encode("a fox").data(), cat = s.prompts().encode("a cat").data();
            float[] expected = new float[fox.length];
            for (int i = 0; i < fox.length; i++) expected[i] = (float) (0.25 * fox[i] + 0.75 * cat[i]);
            assertClose("blended embedding", positiveOfCall(sm, 0), expected, 1e-6);
            assertThat(s.prompt()).isEqualTo("a fox");
        }
    }

    @Test
    void aSeedBlendsFixedNoiseIsTheVariancePreservingSumOfTheDraws() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm).seedBlend(new SeedBlend(List.of(new WeightedSeed(5, 1), new WeightedSeed(9, 1)))).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            int[] shape = s.streamBatch().initNoise().shape();
            float[] n5 = new TorchGenerator(5).randn(shape).data(), n9 = new TorchGenerator(9).randn(shape).data();
            float[] expected = new float[n5.length];
            for (int i = 0; i < n5.length; i++) expected[i] = (float) ((0.5 * n5[i] + 0.5 * n9[i]) / Math.sqrt(0.5));
            assertClose("blended init noise", s.streamBatch().initNoise().data(), expected, 1e-6);
            assertThat(s.seed()).isEqualTo(5);
            // a live change to another blend draws again from the new seeds
            s.updateSeedBlend(new SeedBlend(List.of(new WeightedSeed(9, 1), new WeightedSeed(5, 1))));
            assertThat(s.seed()).isEqualTo(9);
            assertClose("same seeds, other order", s.streamBatch().initNoise().data(), expected, 1e-6);
        }
    }

    @Test
    void aLivePromptChangeWithATransitionWalksToTheNewEmbeddingOverNFrames() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm).promptTransitionFrames(4).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            run(s, 2);
            FloatTensor fox = s.prompts().encode("a fox"), cat = s.prompts().encode("a cat");
            assertClose("before", positiveOfCall(sm, 1), fox.data(), 0);
            s.updatePrompt("a cat");
            assertClose("not yet moved", s.conditioningEmbedding().data(), fox.data(), 0);
            run(s, 6);
            for (int k = 1; k <= 4; k++) {
                float[] expected = new float[fox.size()];
                for (int i = 0; i < expected.length; i++) expected[i] = (float) ((1 - k / 4.0) * fox.data()[i] + k / 4.0 * cat.data()[i]);
                assertClose("frame " + k + " of 4", positiveOfCall(sm, 1 + k), expected, 1e-6);
            }
            assertClose("frame 4 is the new prompt exactly", positiveOfCall(sm, 5), cat.data(), 0);
            assertClose("and stays", positiveOfCall(sm, 7), cat.data(), 0);
        }
    }

    @Test
    void aChangeDuringATransitionStartsFromWhereTheStreamIs() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm).promptTransitionFrames(4).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            s.updatePromptBlend(new PromptBlend(java.util.List.of(new WeightedPrompt("a cat", 1)), Interpolation.SLERP));
            run(s, 2);
            FloatTensor halfway = s.conditioningEmbedding();
            assertClose("halfway to the cat (slerp)", halfway.data(), Blending.between(s.prompts().encode("a fox"),
                    s.prompts().encode("a cat"), 0.5, Interpolation.SLERP).data(), 0);
            s.updatePrompt("a dog");
            run(s, 4);
            FloatTensor dog = s.prompts().encode("a dog");
            for (int k = 1; k <= 3; k++) {
                assertClose("frame " + k + " towards the dog", positiveOfCall(sm, 1 + k),
                        Blending.between(halfway, dog, k / 4.0, Interpolation.LINEAR).data(), 0);
            }
            assertClose("the dog", positiveOfCall(sm, 5), dog.data(), 0);
        }
    }

    @Test
    void withoutATransitionAChangeIsImmediate() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            run(s, 1);
            s.updatePromptBlend(new PromptBlend(List.of(new WeightedPrompt("a cat", 1), new WeightedPrompt("a dog", 1)), Interpolation.SLERP));
            run(s, 1);
            FloatTensor expected = Blending.embeddings(List.of(s.prompts().encode("a cat"), s.prompts().encode("a dog")),
                    new double[] {1, 1}, Interpolation.SLERP);
            assertClose("blend at the next frame", positiveOfCall(sm, 1), expected.data(), 0);
            assertThat(sm.unet.calls).hasSize(2);
        }
    }
}
