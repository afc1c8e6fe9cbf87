package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImagePreprocessor;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.Recording;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Warm-up at load: the models see the stream's shapes, the stream itself is untouched. */
class WarmupTest {
    private static StableDiffusionModels tiny;
    private static List<FloatTensor> frames;

    @BeforeAll
    static void load() throws Exception {
        tiny = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults());
        frames = new ArrayList<>();
        ImagePreprocessor pre = new ImagePreprocessor(64, 64);
        for (var p : ImageFiles.list(Fixtures.frames())) frames.add(pre.toTensor(ImageFiles.read(p)));
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static StreamDiffusion.Builder builder(StableDiffusionModels m) {
        return StreamDiffusion.builder().models(m).size(64, 64).seed(7);
    }

    @Test
    void callsEveryModelWithTheStreamsShapesTwice() throws Exception {
        Recording rec = new Recording();
        StableDiffusionModels models = rec.wrap(tiny);
        try (StreamDiffusion s = builder(models).cfgType(CfgType.FULL).tIndexList(20, 35).build()) {
            s.prepare("a fox", "blurry", 50, 1.5, 1.0);
            int textCalls = rec.textInputs.size();
            Warmup.Report r = new Warmup(models).ensure(s);
            assertThat(r.calls()).isEqualTo(3 * Warmup.RUNS);
            assertThat(rec.encoderInputs).hasSize(Warmup.RUNS)
                    .allSatisfy(t -> assertThat(t.shape()).containsExactly(1, 3, 64, 64));
            assertThat(rec.unetCalls).as("2 x (n = 2) rows for full CFG").hasSize(Warmup.RUNS)
                    .allSatisfy(c -> assertThat(c.sample().shape()).containsExactly(4, 4, 8, 8));
            assertThat(rec.decoderInputs).hasSize(Warmup.RUNS)
                    .allSatisfy(t -> assertThat(t.shape()).containsExactly(1, 4, 8, 8));
            assertThat(rec.textInputs).as("the prompts were encoded by prepare").hasSize(textCalls);
            assertThat(s.unetCalls()).as("the stream's own count").isZero();
        }
    }

    @Test
    void txt2imgWarmsNoEncoder() throws Exception {
        Recording rec = new Recording();
        StableDiffusionModels models = rec.wrap(tiny);
        try (StreamDiffusion s = builder(models).mode(Mode.TXT2IMG).tIndexList(0, 16, 32, 45).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            new Warmup(models).ensure(s);
            assertThat(rec.encoderInputs).isEmpty();
            assertThat(rec.unetCalls).allSatisfy(c -> assertThat(c.sample().rows()).isEqualTo(4));
        }
    }

    @Test
    void aShapeIsWarmedOncePerModels() throws Exception {
        Recording rec = new Recording();
        StableDiffusionModels models = rec.wrap(tiny);
        Warmup warmup = new Warmup(models);
        try (StreamDiffusion a = builder(models).tIndexList(20, 35).build();
             StreamDiffusion b = builder(models).tIndexList(22, 40).seed(9).build();
             StreamDiffusion c = builder(models).tIndexList(30).build()) {
            for (StreamDiffusion s : List.of(a, b, c)) s.prepare("a fox", "", 50, 1.0, 1.0);
            assertThat(warmup.ensure(a).ran()).isTrue();
            assertThat(warmup.ensure(b).ran()).as("same shapes as a").isFalse();
            assertThat(warmup.ensure(c).ran()).as("one UNet row instead of two").isTrue();
            assertThat(rec.unetCalls).hasSize(2 * Warmup.RUNS);
            assertThat(new Warmup(models, 0).ensure(c).ran()).as("turned off").isFalse();
        }
    }

    @Test
    void refusesAStreamOnOtherModels() throws Exception {
        try (StreamDiffusion s = builder(tiny).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            Warmup other = new Warmup(new Recording().wrap(tiny));
            assertThatThrownBy(() -> other.ensure(s)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /**
     * The outputs of a warmed stream are bit for bit those of a cold one: on models loaded
     * separately (so the cold one's ONNX Runtime sessions have never run), with the similarity
     * filter and cfg self (stock noise), over more frames than the stream's lag.
     */
    @Test
    void outputsAreUnchangedBitForBit() throws Exception {
        List<FloatTensor> cold = run(false);
        List<FloatTensor> warm = run(true);
        assertThat(warm).hasSameSizeAs(cold);
        for (int i = 0; i < cold.size(); i++) assertClose("frame " + i, warm.get(i), cold.get(i), 0);
    }

    private static List<FloatTensor> run(boolean warmUp) throws Exception {
        List<FloatTensor> out = new ArrayList<>();
        try (StreamDiffusion s = StreamDiffusion.builder().model(Fixtures.onnxModel()).taesd(Fixtures.taesd()).size(64, 64)
                .seed(3).tIndexList(20, 35).cfgType(CfgType.SELF).similarImageFilter(0.98, 10).build()) {
            s.prepare("a fox", "", 50, 1.4, 0.8);
            if (warmUp) assertThat(new Warmup(s.models()).ensure(s).ran()).isTrue();
            for (FloatTensor f : frames) out.add(s.img2img(f));
        }
        return out;
    }
}
