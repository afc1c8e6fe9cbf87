package io.streamdiffusion4j.engine;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.Recording;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The engine's queues, drops and live control, on the fixture's tiny models. */
class StreamEngineTest {
    private static StableDiffusionModels tiny;

    @BeforeAll
    static void load() throws Exception {
        tiny = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults());
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static RgbImage solid(int r, int g, int b) {
        byte[] rgb = new byte[64 * 64 * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = (byte) r;
            rgb[i + 1] = (byte) g;
            rgb[i + 2] = (byte) b;
        }
        return new RgbImage(64, 64, rgb);
    }

    private static void waitFor(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out");
            Thread.sleep(5);
        }
    }

    /** A file-like source keeps every frame, in order, and the outputs equal frame-by-frame img2img. */
    @Test
    void everyFrameInOrderForFileSources() throws Exception {
        RgbImage[] frames = new RgbImage[6];
        for (int i = 0; i < frames.length; i++) frames[i] = solid(40 * i, 255 - 30 * i, 100);
        ListSink sink = new ListSink(true);
        QueueSource src = new QueueSource(false);
        try (StreamDiffusion s = StreamDiffusion.builder().models(tiny).size(64, 64).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            StreamEngine engine = new StreamEngine(s, src, sink, StreamEngine.Options.defaults());
            assertThat(engine.inputPolicy()).isEqualTo(StreamEngine.InputPolicy.ALL);
            engine.start();
            for (RgbImage f : frames) src.feed(f);
            src.end();
            engine.awaitEnd();
            assertThat(engine.telemetry().droppedInput()).isZero();
            assertThat(engine.telemetry().framesOut()).isEqualTo(6);
        }
        assertThat(sink.closed).isTrue();
        assertThat(sink.indices).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
        try (StreamDiffusion direct = StreamDiffusion.builder().models(tiny).size(64, 64).build()) {
            direct.prepare("a fox", "", 50, 1.2, 1.0);
            for (int i = 0; i < frames.length; i++) {
                RgbImage expected = direct.img2img(java.util.List.of(frames[i])).getFirst();
                assertThat(sink.images.get(i).rgb()).as("frame %d", i).containsExactly(expected.rgb());
            }
        }
    }

    /** With a live source and a slow model, older frames are dropped and every frame is accounted for. */
    @Test
    void liveSourcesDropOldFramesAndCountThem() throws Exception {
        Recording rec = new Recording();
        StableDiffusionModels recorded = rec.wrap(tiny);
        Unet slow = new Unet() {
            @Override
            public FloatTensor predictNoise(FloatTensor sample, long[] t, FloatTensor h) {
                try {
                    Thread.sleep(40);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return recorded.unet().predictNoise(sample, t, h);
            }

            @Override
            public int latentChannels() {
                return 4;
            }

            @Override
            public int crossAttentionDim() {
                return 16;
            }

            @Override
            public void close() {}
        };
        StableDiffusionModels models = new StableDiffusionModels(tiny.tokenizer(), tiny.textEncoder(), slow, tiny.vae(),
                tiny.schedulerConfig(), "slow");
        ListSink sink = new ListSink(false);
        QueueSource src = new QueueSource(true);
        try (StreamDiffusion s = StreamDiffusion.builder().models(models).size(64, 64).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            StreamEngine engine = new StreamEngine(s, src, sink, StreamEngine.Options.defaults());
            assertThat(engine.inputPolicy()).isEqualTo(StreamEngine.InputPolicy.LATEST);
            engine.start();
            for (int i = 0; i < 60; i++) {
                src.feed(solid(i * 4, 0, 0));
                Thread.sleep(2);
            }
            src.end();
            engine.awaitEnd();
            Telemetry t = engine.telemetry();
            assertThat(t.framesIn()).isEqualTo(60);
            assertThat(t.droppedInput()).as("a 40 ms model cannot keep up with 500 fps").isGreaterThan(10);
            assertThat(t.framesProcessed() + t.droppedInput()).isEqualTo(t.framesIn());
            assertThat(t.framesOut() + t.droppedOutput()).isEqualTo(t.framesProcessed());
            assertThat(t.unetCalls()).isEqualTo(t.framesProcessed());
            assertThat(rec.unetCalls).hasSize((int) t.framesProcessed());
            // the newest frame always wins: the last frame fed is the last one processed
            assertThat(sink.images).isNotEmpty();
        }
    }

    /** Prompt, seed and t_index_list changes apply from the very next frame. */
    @Test
    void liveChangesTakeEffectAtTheNextFrame() throws Exception {
        Recording rec = new Recording();
        StableDiffusionModels models = rec.wrap(tiny);
        ListSink sink = new ListSink(true);
        QueueSource src = new QueueSource(false);
        try (StreamDiffusion s = StreamDiffusion.builder().models(models).size(64, 64).cfgType(CfgType.SELF).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            StreamEngine engine = new StreamEngine(s, src, sink, StreamEngine.Options.defaults());
            engine.start();
            src.feed(solid(10, 20, 30));
            waitFor(() -> engine.telemetry().framesProcessed() == 1);

            engine.setPrompt("a cat in the snow");
            src.feed(solid(10, 20, 30));
            waitFor(() -> engine.telemetry().framesProcessed() == 2);
            assertClose("embeddings of the new prompt", rec.unetCalls.get(1).hiddenStates().rows(0, 1),
                    s.prompts().encode("a cat in the snow"), 0);

            engine.setSeed(99);
            src.feed(solid(10, 20, 30));
            waitFor(() -> engine.telemetry().framesProcessed() == 3);
            assertClose("noise drawn again from the new seed", s.streamBatch().initNoise(),
                    new TorchGenerator(99).randn(2, 4, 8, 8), 0);

            engine.setTIndexList(20, 30, 45);
            src.feed(solid(10, 20, 30));
            waitFor(() -> engine.telemetry().framesProcessed() == 4);
            assertThat(rec.unetCalls.get(3).timesteps()).containsExactly(599, 399, 99);
            assertThat(rec.unetCalls.get(3).sample().rows()).isEqualTo(3);

            engine.setGuidance(1.5, 0.5);
            src.feed(solid(10, 20, 30));
            waitFor(() -> engine.telemetry().framesProcessed() == 5);
            assertThat(s.guidance().scale()).isEqualTo(1.5f);
            assertThat(s.guidance().delta()).isEqualTo(0.5f);
            src.end();
            engine.awaitEnd();
            assertThat(s.unetCalls()).isEqualTo(5);
        }
    }

    /**
     * Stopping mid-stream finishes the video file (all frames written so far are in it) and, once
     * the models are closed, no native tensor is left open.
     */
    @Test
    void stopMidStreamFinishesTheFileAndLeavesNoNativeTensorOpen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        long before = io.streamdiffusion4j.onnx.NativeTensors.open();
        java.nio.file.Path video = dir.resolve("out.mp4");
        Telemetry t;
        try (StableDiffusionModels models = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(),
                OnnxModelLoader.Options.defaults());
             StreamDiffusion s = StreamDiffusion.builder().models(models).size(64, 64).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            assertThat(io.streamdiffusion4j.onnx.NativeTensors.open()).isGreaterThan(before);
            QueueSource src = new QueueSource(true);
            StreamEngine engine = new StreamEngine(s, src, Sinks.open("video:" + video, 10), StreamEngine.Options.defaults());
            engine.start();
            for (int i = 0; i < 200 && engine.telemetry().framesOut() < 5; i++) {
                src.feed(solid(i * 9 % 256, 100, 50));
                Thread.sleep(20);
            }
            engine.stop(); // mid-stream: the source has not ended
            assertThat(engine.isFinished()).isTrue();
            t = engine.telemetry();
        }
        assertThat(io.streamdiffusion4j.onnx.NativeTensors.open()).as("native tensors left open").isEqualTo(before);
        Process p = new ProcessBuilder("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", video.toString()).start();
        String frames = new String(p.getInputStream().readAllBytes()).strip();
        assertThat(p.waitFor()).isZero();
        assertThat(Long.parseLong(frames)).isEqualTo(t.framesOut()).isGreaterThanOrEqualTo(5);
    }

    /** Warm start fills the buffer from the first frame, noised to its step, instead of zeros. */
    @Test
    void warmStartFillsTheBufferFromTheFirstFrame() throws Exception {
        RgbImage frame = solid(200, 120, 40);
        Recording rec = new Recording();
        FloatTensor coldOut;
        try (StreamDiffusion s = StreamDiffusion.builder().models(tiny).size(64, 64).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            coldOut = s.img2img(s.preprocessor().toTensor(frame));
        }
        try (StreamDiffusion s = StreamDiffusion.builder().models(rec.wrap(tiny)).size(64, 64).warmStart(true).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            FloatTensor noise = s.streamBatch().initNoise();
            var c = s.streamBatch().coefficients();
            FloatTensor warmOut = s.img2img(s.preprocessor().toTensor(frame));
            float[] z = rec.encoderOutputs.getFirst().mean().data();
            float[] expected = new float[z.length];
            for (int i = 0; i < z.length; i++) {
                expected[i] = c.alphaProdSqrt()[1] * z[i] + c.betaProdSqrt()[1] * noise.data()[z.length + i];
            }
            assertClose("buffer row entering the first UNet call", rec.unetCalls.getFirst().sample().rows(1, 2).data(),
                    expected, 0);
            assertThat(io.streamdiffusion4j.testing.TensorAssert.maxAbsDiff(coldOut.data(), warmOut.data()))
                    .as("the first output no longer comes from an empty buffer").isGreaterThan(1e-3);
        }
    }
}
