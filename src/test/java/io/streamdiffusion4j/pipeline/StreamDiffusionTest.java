package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static io.streamdiffusion4j.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.random.ReplayedUniforms;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.Recording;
import io.streamdiffusion4j.testing.StandInUnet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Behaviour of the whole pipeline on the fixture's tiny models. */
class StreamDiffusionTest {
    private static StableDiffusionModels tiny;
    private static StableDiffusionModels tinyWithKlVae;
    private static List<FloatTensor> frames;

    @BeforeAll
    static void load() throws Exception {
        tiny = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults());
        tinyWithKlVae = OnnxModelLoader.load(Fixtures.onnxModel(), null, OnnxModelLoader.Options.defaults());
        frames = new ArrayList<>();
        var pre = new io.streamdiffusion4j.image.ImagePreprocessor(64, 64);
        for (var p : ImageFiles.list(Fixtures.frames())) frames.add(pre.toTensor(ImageFiles.read(p)));
    }

    @AfterAll
    static void close() {
        tiny.close();
        tinyWithKlVae.close();
    }

    private static StreamDiffusion.Builder builder(StableDiffusionModels m) {
        return StreamDiffusion.builder().models(m).size(64, 64);
    }

    @Test
    void updatePromptKeepsTheNegativePromptRows() throws Exception {
        Recording rec = new Recording();
        try (StreamDiffusion s = builder(rec.wrap(tiny)).cfgType(CfgType.FULL).build()) {
            s.prepare("a fox", "blurry", 50, 1.5, 1.0);
            s.img2img(frames.get(0));
            s.updatePrompt("a cat");
            s.img2img(frames.get(1));
            FloatTensor negative = s.prompts().encode("blurry");
            FloatTensor cat = s.prompts().encode("a cat");
            FloatTensor h = rec.unetCalls.get(1).hiddenStates();
            assertThat(h.rows()).as("2 x (n = 2) rows for full CFG").isEqualTo(4);
            assertClose("negative rows", h.rows(0, 2), negative.repeatRows(2), 0);
            assertClose("prompt rows", h.rows(2, 4), cat.repeatRows(2), 0);
            assertThat(s.negativePrompt()).isEqualTo("blurry");
        }
    }

    @Test
    void promptsAreEncodedOncePerText() throws Exception {
        Recording rec = new Recording();
        try (StreamDiffusion s = builder(rec.wrap(tiny)).cfgType(CfgType.INITIALIZE).build()) {
            s.prepare("a fox", "", 50, 1.4, 0.5);
            s.updatePrompt("a cat");
            s.updatePrompt("a fox");
            for (int i = 0; i < 3; i++) s.img2img(frames.get(i));
            assertThat(rec.textOutputs).as("a fox, \"\", a cat").hasSize(3);
            assertThat(rec.unetCalls.getFirst().sample().rows()).as("n + f rows for initialize").isEqualTo(3);
        }
    }

    @Test
    void txt2imgNoiseComesFromTheGlobalGenerator() throws Exception {
        Recording rec = new Recording();
        try (StreamDiffusion s = builder(rec.wrap(tiny)).mode(Mode.TXT2IMG).tIndexList(0, 16, 32, 45)
                .cfgType(CfgType.NONE).seed(7).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.txt2img();
            s.txt2img();
            TorchGenerator global = new TorchGenerator(7);
            assertClose("first noise", rec.unetCalls.get(0).sample().rows(0, 1), global.randn(1, 4, 8, 8), 0);
            assertClose("second noise", rec.unetCalls.get(1).sample().rows(0, 1), global.randn(1, 4, 8, 8), 0);
            assertClose("init noise from prepare's own generator", s.streamBatch().initNoise(),
                    new TorchGenerator(7).randn(4, 4, 8, 8), 0);
        }
    }

    @Test
    void sdTurboPathGivesOneImagePerRow() throws Exception {
        try (StreamDiffusion s = builder(tiny).mode(Mode.TXT2IMG).tIndexList(0).frameBufferSize(3)
                .cfgType(CfgType.NONE).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            FloatTensor out = s.txt2imgSdTurbo();
            assertThat(out.shape()).containsExactly(3, 3, 64, 64);
        }
        try (StreamDiffusion s = builder(tiny).mode(Mode.TXT2IMG).tIndexList(0).cfgType(CfgType.FULL).build()) {
            s.prepare("a fox", "", 50, 1.5, 1.0);
            assertThatThrownBy(s::txt2imgSdTurbo).hasMessageContaining("sd_turbo path has no guidance");
        }
    }

    @Test
    void similarityFilterRepeatsTheLastOutputAndFreezesTheStream() throws Exception {
        Recording rec = new Recording();
        double[] draws = {0.1, 0.1, 0.1};
        try (StreamDiffusion s = builder(rec.wrap(tiny)).similarImageFilter(0.5, 10)
                .similarityDraws(new ReplayedUniforms(draws, "test")).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            FloatTensor first = s.img2img(frames.get(0));
            FloatTensor buffer = s.streamBatch().latentBuffer();
            FloatTensor stock = s.streamBatch().stockNoise();
            FloatTensor again = s.img2img(frames.get(0));
            assertThat(s.lastFrameSkipped()).isTrue();
            assertThat(s.lastFilterDecision().cosine()).isEqualTo(1.0);
            assertClose("repeated output", again, first, 0);
            assertClose("buffer unchanged", s.streamBatch().latentBuffer(), buffer, 0);
            assertClose("stock noise unchanged", s.streamBatch().stockNoise(), stock, 0);
            assertThat(rec.unetCalls).hasSize(1);
            s.img2img(frames.get(5));
            assertThat(s.lastFrameSkipped()).as("a different frame: cos below the skip draw").isFalse();
            assertThat(rec.unetCalls).hasSize(2);
        }
    }

    @Test
    void autoencoderKlSamplesWithTheSeed() throws Exception {
        List<FloatTensor> a = run(tinyWithKlVae, 2);
        List<FloatTensor> b = run(tinyWithKlVae, 2);
        List<FloatTensor> c = run(tinyWithKlVae, 3);
        for (int i = 0; i < a.size(); i++) assertClose("same seed, frame " + i, a.get(i), b.get(i), 0);
        assertThat(maxAbsDiff(a.get(3).data(), c.get(3).data())).as("another seed").isGreaterThan(1e-3);
    }

    private static List<FloatTensor> run(StableDiffusionModels m, long seed) throws Exception {
        List<FloatTensor> out = new ArrayList<>();
        try (StreamDiffusion s = builder(m).seed(seed).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            for (int i = 0; i < 4; i++) out.add(s.img2img(frames.get(i)));
        }
        return out;
    }

    @Test
    void inconsistentModelsAreRejected() {
        TextEncoder wide = new TextEncoder() {
            @Override
            public FloatTensor encode(int[] ids) {
                return FloatTensor.zeros(1, 77, 32);
            }

            @Override
            public int hiddenSize() {
                return 32;
            }

            @Override
            public void close() {}
        };
        assertThatThrownBy(() -> new StableDiffusionModels(tiny.tokenizer(), wide, new StandInUnet(4, 16), tiny.vae(),
                tiny.schedulerConfig(), "test"))
                .hasMessageContaining("hidden size is 32").hasMessageContaining("cross-attention width is 16");
        assertThatThrownBy(() -> new StableDiffusionModels(tiny.tokenizer(), tiny.textEncoder(), new StandInUnet(8, 16),
                tiny.vae(), tiny.schedulerConfig(), "test"))
                .hasMessageContaining("4 latent channels").hasMessageContaining("UNet takes 8");
    }

    @Test
    void framesOfTheWrongShapeAreRejected() throws Exception {
        try (StreamDiffusion s = builder(tiny).build()) {
            assertThatThrownBy(() -> s.img2img(frames.get(0))).hasMessageContaining("prepare()");
            s.prepare("a fox", "", 50, 1.2, 1.0);
            assertThatThrownBy(() -> s.img2img(FloatTensor.zeros(1, 3, 32, 32))).hasMessageContaining("1 frame(s) of 3x64x64");
        }
    }
}
