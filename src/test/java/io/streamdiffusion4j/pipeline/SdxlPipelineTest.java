package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.model.SdxlConditioning;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.onnx.NativeTensors;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtUnet;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole stream on the tiny SDXL model (made and converted here): every cfg type in img2img
 * and txt2img; the pooled embedding reaching the UNet with each row's prompt (negative rows with
 * the negative one, zeros for an empty negative prompt as force_zeros_for_empty_prompt says);
 * and live changes of prompt, negative prompt, guidance and t_index_list giving the frames of a
 * stream that computes the conditioning (added embedding included) every frame.
 */
class SdxlPipelineTest {
    private static final double TOLERANCE = 1e-5;

    @TempDir
    static Path dir;
    private static Path model;

    @BeforeAll
    static void createAndConvert() throws Exception {
        Path source = dir.resolve("tiny-sdxl");
        RandomModels.create(ModelPreset.TINY_SDXL, 0, source, null);
        model = dir.resolve("onnx");
        DiffusersConverter.convert(source, model, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
    }

    private static StableDiffusionModels load(boolean precompute) throws Exception {
        return OnnxModelLoader.load(model, model.resolve("taesd"),
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

    @Test
    void everyCfgTypeRunsImg2ImgAndTxt2Img() throws Exception {
        long before = NativeTensors.open();
        List<FloatTensor> input = frames(3);
        try (StableDiffusionModels m = load(true)) {
            for (CfgType cfg : CfgType.values()) {
                List<FloatTensor> outs = new ArrayList<>();
                try (StreamDiffusion s = StreamDiffusion.builder().models(m).tIndexList(32, 45).size(64, 64)
                        .cfgType(cfg).seed(2).build()) {
                    s.prepare("a fox in the snow", "blurry", 50, 1.5, 1.0);
                    for (FloatTensor f : input) outs.add(s.img2img(f));
                }
                for (FloatTensor o : outs) {
                    assertThat(o.shape()).containsExactly(1, 3, 64, 64);
                    assertFinite(o, cfg + " img2img");
                }
                try (StreamDiffusion s = StreamDiffusion.builder().models(m).mode(Mode.TXT2IMG).tIndexList(0).size(64, 64)
                        .cfgType(cfg).seed(2).build()) {
                    s.prepare("a fox in the snow", "blurry", 1, 1.5, 1.0);
                    FloatTensor o = s.txt2img();
                    assertThat(o.shape()).containsExactly(1, 3, 64, 64);
                    assertFinite(o, cfg + " txt2img");
                }
            }
        }
        assertThat(NativeTensors.open()).as("native tensors left open").isEqualTo(before);
    }

    @Test
    void negativeRowsCarryTheNegativePooledEmbedding() throws Exception {
        try (StableDiffusionModels m = load(true)) {
            Recording unet = new Recording(m.unet());
            StableDiffusionModels recorded = new StableDiffusionModels(m.tokenizer(), m.textEncoder(), unet, m.vae(),
                    m.schedulerConfig(), m.description());
            PromptEncoder prompts = new PromptEncoder(m.tokenizer(), m.textEncoder());
            float[] positive = prompts.encode("a fox").data();
            float[] negative = prompts.encode("blurry").data();
            assertThat(pooledRow(positive)).isNotEqualTo(pooledRow(negative));
            for (String neg : new String[] {"blurry", ""}) {
                try (StreamDiffusion s = StreamDiffusion.builder().models(recorded).tIndexList(32, 45).size(64, 64)
                        .cfgType(CfgType.FULL).seed(2).build()) {
                    s.prepare("a fox", neg, 50, 1.5, 1.0);
                    s.img2img(frames(1).getFirst());
                }
                FloatTensor h = unet.last;
                // cfg full with 2 denoising rows: 2 negative rows, then 2 positive rows, 78 rows each
                assertThat(h.shape()).containsExactly(4, SdxlConditioning.TOKENS + 1, 48);
                float[] expectedNegative = neg.isEmpty() ? new float[negative.length] : negative;
                for (int row = 0; row < 4; row++) {
                    float[] r = h.rows(row, row + 1).data();
                    assertThat(r).as("row " + row + " with negative prompt '" + neg + "'")
                            .containsExactly(row < 2 ? expectedNegative : positive);
                }
            }
        }
    }

    @Test
    void liveChangesGiveTheFramesOfAStreamComputingEverythingPerFrame() throws Exception {
        List<FloatTensor> input = frames(7);
        List<Consumer<StreamDiffusion>> changes = new ArrayList<>();
        for (int i = 0; i < 7; i++) changes.add(null);
        changes.set(2, s -> s.updatePrompt("a red fox in snow"));
        changes.set(3, s -> s.updatePrompt("a red fox in snow", "dark"));
        changes.set(4, s -> s.updateGuidance(1.0, 1.0));
        changes.set(5, s -> s.updateGuidance(2.0, 0.5));
        changes.set(6, s -> s.updateTIndexList(30));
        try (StableDiffusionModels with = load(true); StableDiffusionModels without = load(false)) {
            assertThat(((OrtUnet) with.unet()).precomputes()).isTrue();
            List<FloatTensor> a = run(with, input, changes);
            List<FloatTensor> b = run(without, input, changes);
            for (int i = 0; i < input.size(); i++) {
                assertThat(largestDifference(a.get(i), b.get(i))).as("frame " + i).isLessThanOrEqualTo(TOLERANCE);
            }
            List<FloatTensor> kept = run(with, input.subList(0, 3), List.of());
            assertThat(largestDifference(a.get(2), kept.get(2))).as("the prompt change shows").isGreaterThan(1e-3);
        }
    }

    private static List<FloatTensor> run(StableDiffusionModels models, List<FloatTensor> input,
                                         List<Consumer<StreamDiffusion>> changes) throws Exception {
        List<FloatTensor> out = new ArrayList<>();
        try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32, 45).size(64, 64)
                .cfgType(CfgType.FULL).seed(2).build()) {
            s.prepare("a cat", "blurry", 50, 1.5, 1.0);
            for (int i = 0; i < input.size(); i++) {
                if (i < changes.size() && changes.get(i) != null) changes.get(i).accept(s);
                out.add(s.img2img(input.get(i)));
            }
        }
        return out;
    }

    private static double largestDifference(FloatTensor x, FloatTensor y) {
        assertThat(x.shape()).containsExactly(y.shape());
        double worst = 0;
        for (int i = 0; i < x.size(); i++) worst = Math.max(worst, Math.abs(x.data()[i] - y.data()[i]));
        return worst;
    }

    private static float[] pooledRow(float[] packed) {
        return Arrays.copyOfRange(packed, SdxlConditioning.TOKENS * 48, (SdxlConditioning.TOKENS + 1) * 48);
    }

    private static void assertFinite(FloatTensor t, String what) {
        for (float v : t.data()) assertThat(Float.isFinite(v)).as(what + " finite").isTrue();
    }

    /** Passes every call on, keeping the prompt embeddings of the last conditioning prepared. */
    private static final class Recording implements Unet {
        private final Unet unet;
        FloatTensor last;

        Recording(Unet unet) {
            this.unet = unet;
        }

        @Override
        public FloatTensor predictNoise(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates) {
            last = encoderHiddenStates;
            return unet.predictNoise(sample, timesteps, encoderHiddenStates);
        }

        @Override
        public Conditioning prepare(int[] sampleShape, long[] timesteps, FloatTensor encoderHiddenStates) {
            last = encoderHiddenStates;
            return unet.prepare(sampleShape, timesteps, encoderHiddenStates);
        }

        @Override
        public void predictNoiseInto(FloatTensor sample, Conditioning conditioning, float[] eps) {
            unet.predictNoiseInto(sample, conditioning, eps);
        }

        @Override
        public int latentChannels() {
            return unet.latentChannels();
        }

        @Override
        public int crossAttentionDim() {
            return unet.crossAttentionDim();
        }

        @Override
        public void close() {}
    }
}
