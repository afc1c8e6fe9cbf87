package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.random.MemoryFormat;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInModels;
import io.streamdiffusion4j.testing.StandInUnet;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole stream on stand-in models (no ONNX Runtime): what reaches the VAE and the UNet, the
 * scaling and posterior sampling around them, warm start, and every live control (prompt,
 * guidance, t_index_list, seed, similarity filter) with the state each keeps or resets.
 */
class StreamDiffusionControlTest {
    private static final int SIZE = 32;
    private static final int LATENT = SIZE / 8;
    private static final int C = StandInModels.LATENT_CHANNELS;
    private static final int RS = C * LATENT * LATENT;

    private static FloatTensor frames(long seed, int f) {
        FloatTensor t = new TorchGenerator(seed).randn(f, 3, SIZE, SIZE);
        for (int i = 0; i < t.size(); i++) t.data()[i] = Math.clamp(t.data()[i] * 0.4f, -1f, 1f);
        return t;
    }

    private static StreamDiffusion.Builder builder(StandInModels sm, boolean variational, float scale) {
        return StreamDiffusion.builder().models(sm.models(variational, scale)).size(SIZE, SIZE);
    }

    /** A bare stream batch in the same state as the stream's, to recompute what it does with the same input. */
    private static StreamBatch twin(StreamDiffusion s) {
        StreamBatch b = new StreamBatch(new StandInUnet(C, StandInModels.HIDDEN), s.config(), s.streamBatch().coefficients(),
                new TorchGenerator(s.seed()));
        b.setConditioning(s.guidance(), PromptEncoder.conditioning(s.prompts().encode(s.prompt()),
                s.prompts().encode(s.negativePrompt()), s.guidance(), s.config().batchSize(), s.config().frameBufferSize()));
        b.reset(s.streamBatch().initNoise());
        FloatTensor buffer = s.streamBatch().latentBuffer();
        b.restoreState(s.streamBatch().stockNoise(), buffer);
        return b;
    }

    @Test
    void aVariationalVaeIsSampledFromTheSeedThenScaledThenNoisedToTheFirstStep() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, true, 0.18215f).cfgType(CfgType.NONE).seed(5).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.img2img(frames(1, 1));
            TorchGenerator g = new TorchGenerator(5);
            float[] initNoise = g.randn(2, C, LATENT, LATENT).data(); // prepare draws the fixed noise first
            float[] noise = new float[RS];
            g.fillNormal(noise); // then each frame's posterior sample
            LatentDistribution d = sm.encoderOutputs.getFirst();
            LcmCoefficients c = s.streamBatch().coefficients();
            float[] expected = new float[RS];
            for (int i = 0; i < RS; i++) {
                float z = (d.mean().data()[i] + d.std().data()[i] * noise[i]) * 0.18215f;
                expected[i] = c.alphaProdSqrt()[0] * z + c.betaProdSqrt()[0] * initNoise[i];
            }
            assertClose("UNet input of the new frame", sm.unet.calls.getFirst().sample().rows(0, 1).data(), expected, 0);
            assertClose("init noise", s.streamBatch().initNoise().data(), initNoise, 0);
        }
    }

    @Test
    void aDeterministicVaeIsOnlyScaled() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 0.5f).cfgType(CfgType.NONE).seed(5).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.img2img(frames(1, 1));
            s.img2img(frames(2, 1));
            float[] initNoise = new TorchGenerator(5).randn(2, C, LATENT, LATENT).data();
            LcmCoefficients c = s.streamBatch().coefficients();
            for (int call = 0; call < 2; call++) {
                float[] mean = sm.encoderOutputs.get(call).mean().data();
                float[] expected = new float[RS];
                for (int i = 0; i < RS; i++) expected[i] = c.alphaProdSqrt()[0] * (mean[i] * 0.5f) + c.betaProdSqrt()[0] * initNoise[i];
                assertClose("call " + call, sm.unet.calls.get(call).sample().rows(0, 1).data(), expected, 0);
            }
        }
    }

    /**
     * Without the denoising batch the fresh noise between steps is the original's
     * {@code torch.randn_like(x_0_pred)} from the global generator. In img2img x_0_pred is
     * channels-last there (the image tensor is a transposed NHWC array and every step keeps
     * its layout), so torch draws its scalar samples in NHWC order; in txt2img the latents start
     * from {@code torch.randn} and stay contiguous (issue 11).
     */
    @Test
    void theSequentialLoopDrawsImg2imgNoiseChannelsLastAndTxt2imgNoiseContiguous() throws Exception {
        int f = 2;
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, true, 0.18215f).tIndexList(16, 32, 45).frameBufferSize(f)
                .useDenoisingBatch(false).cfgType(CfgType.NONE).seed(11).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.img2img(frames(1, f));
            s.img2img(frames(2, f));
            assertThat(sm.unet.calls).hasSize(6);
            TorchGenerator global = new TorchGenerator(11);
            assertFreshNoise(s, sm.unet.calls, global, MemoryFormat.CHANNELS_LAST, f);
        }
        StandInModels text = StandInModels.create();
        try (StreamDiffusion s = builder(text, true, 0.18215f).mode(Mode.TXT2IMG).tIndexList(16, 32, 45)
                .frameBufferSize(f).useDenoisingBatch(false).cfgType(CfgType.NONE).seed(11).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.txt2img();
            TorchGenerator global = new TorchGenerator(11);
            FloatTensor start = global.randn(f, C, LATENT, LATENT);
            assertClose("txt2img start", text.unet.calls.getFirst().sample().data(), start.data(), 0);
            assertFreshNoise(s, text.unet.calls, global, MemoryFormat.CONTIGUOUS, f);
        }
    }

    /** Every step after the first of each frame: UNet input = a' x0 + b' (the next draw in {@code format}). */
    private static void assertFreshNoise(StreamDiffusion s, List<StandInUnet.Call> calls, TorchGenerator global,
                                         MemoryFormat format, int f) {
        LcmCoefficients c = s.streamBatch().coefficients();
        int steps = c.steps();
        for (int call = 0; call < calls.size(); call++) {
            int k = call % steps;
            if (k == steps - 1) continue;
            FloatTensor in = calls.get(call).sample();
            FloatTensor eps = new StandInUnet(C, StandInModels.HIDDEN).predictNoise(in, calls.get(call).timesteps(),
                    calls.get(call).hiddenStates());
            float[] fresh = global.randnLike(format, f, C, LATENT, LATENT).data();
            float[] expected = new float[in.size()];
            for (int i = 0; i < expected.length; i++) {
                float x0 = c.cOut()[k] * ((in.data()[i] - c.betaProdSqrt()[k] * eps.data()[i]) / c.alphaProdSqrt()[k])
                        + c.cSkip()[k] * in.data()[i];
                expected[i] = c.alphaProdSqrt()[k + 1] * x0 + c.betaProdSqrt()[k + 1] * fresh[i];
            }
            assertClose(format + " draw, UNet call " + (call + 1), calls.get(call + 1).sample().data(), expected, 0);
        }
    }

    @Test
    void theDenoisedLatentsAreUnscaledForTheDecoderWhoseOutputIsTheResult() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 0.5f).cfgType(CfgType.SELF).tIndexList(32, 45).build()) {
            s.prepare("a fox", "", 50, 1.5, 0.8);
            for (int call = 0; call < 3; call++) {
                StreamBatch twin = twin(s);
                FloatTensor out = s.img2img(frames(call, 1));
                FloatTensor x0 = twin.denoise(sm.unet.calls.get(call).sample().rows(0, 1));
                float[] expected = new float[x0.size()];
                for (int i = 0; i < expected.length; i++) expected[i] = x0.data()[i] / 0.5f;
                assertClose("decoder input, call " + call, sm.decoderInputs.get(call).data(), expected, 0);
                assertClose("output, call " + call, out, sm.decoderOutputs.get(call), 0);
            }
        }
    }

    @Test
    void picturesGoThroughThePreprocessorAndComeBackPostprocessed() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).frameBufferSize(2).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            byte[] a = new byte[SIZE * SIZE * 3];
            byte[] b = new byte[SIZE * SIZE * 3];
            for (int i = 0; i < a.length; i++) {
                a[i] = (byte) (i * 7);
                b[i] = (byte) (255 - i);
            }
            List<RgbImage> pictures = List.of(new RgbImage(SIZE, SIZE, a), new RgbImage(SIZE, SIZE, b));
            List<RgbImage> out = s.img2img(pictures);
            assertClose("encoder input", sm.encoderInputs.getFirst(), s.preprocessor().toTensor(pictures), 0);
            List<RgbImage> expected = ImagePostprocessor.toRgbImages(sm.decoderOutputs.getFirst());
            assertThat(out).hasSize(2);
            for (int i = 0; i < 2; i++) assertThat(out.get(i).rgb()).containsExactly(expected.get(i).rgb());
        }
    }

    @Test
    void warmStartFillsTheBufferFromTheFirstFrameOnce() throws Exception {
        int f = 2;
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).tIndexList(22, 32, 45).frameBufferSize(f).warmStart(true)
                .cfgType(CfgType.NONE).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.img2img(frames(1, f));
            float[] z = sm.encoderOutputs.getFirst().mean().data();
            float[] noise = s.streamBatch().initNoise().data();
            LcmCoefficients c = s.streamBatch().coefficients();
            float[] sample = sm.unet.calls.getFirst().sample().data();
            for (int r = 0; r < 4; r++) {
                int step = r / f + 1;
                int frame = r % f;
                float[] expected = new float[RS];
                for (int i = 0; i < RS; i++) {
                    expected[i] = c.alphaProdSqrt()[step] * z[frame * RS + i] + c.betaProdSqrt()[step] * noise[(r + f) * RS + i];
                }
                float[] row = java.util.Arrays.copyOfRange(sample, (f + r) * RS, (f + r + 1) * RS);
                assertClose("buffer row " + r + " (step " + step + ", frame " + frame + ")", row, expected, 0);
            }
            FloatTensor buffer = s.streamBatch().latentBuffer();
            s.img2img(frames(2, f));
            assertClose("the second frame continues the stream", sm.unet.calls.get(1).sample().rows(f, 3 * f), buffer, 0);
        }
        StandInModels cold = StandInModels.create();
        try (StreamDiffusion s = builder(cold, false, 1f).tIndexList(22, 32, 45).frameBufferSize(f).cfgType(CfgType.NONE).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.img2img(frames(1, f));
            assertThat(cold.unet.calls.getFirst().sample().rows(f, 3 * f).data()).as("without warm start").containsOnly(0f);
        }
    }

    @Test
    void warmStartWithOneStepHasNoBufferToFill() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).tIndexList(32).warmStart(true).cfgType(CfgType.NONE).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.img2img(frames(1, 1));
            assertThat(sm.unet.calls.getFirst().sample().rows()).isEqualTo(1);
        }
    }

    @Test
    void updatedGuidanceAddsOrDropsTheNegativeRows() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).cfgType(CfgType.FULL).build()) {
            s.prepare("a fox", "blurry", 50, 1.5, 1.0);
            s.img2img(frames(1, 1));
            s.updateGuidance(1.0, 1.0);
            s.img2img(frames(2, 1));
            s.updateGuidance(2.0, 0.5);
            s.img2img(frames(3, 1));
            assertThat(sm.unet.calls.stream().map(call -> call.sample().rows())).containsExactly(4, 2, 4);
            assertThat(s.guidance()).isEqualTo(new Guidance(CfgType.FULL, 2.0f, 0.5f));
        }
    }

    @Test
    void updatedPromptsReachTheUnetAndAreEncodedOnce() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).cfgType(CfgType.FULL).build()) {
            assertThatThrownBy(() -> s.updatePrompt("x")).isInstanceOf(IllegalStateException.class);
            s.prepare("a fox", null, 50, 1.5, 1.0);
            assertThat(s.negativePrompt()).isEmpty();
            s.updatePrompt("a cat", "blurry");
            s.img2img(frames(1, 1));
            FloatTensor h = sm.unet.calls.getFirst().hiddenStates();
            assertClose("negative rows", h.rows(0, 2), s.prompts().encode("blurry").repeatRows(2), 0);
            assertClose("prompt rows", h.rows(2, 4), s.prompts().encode("a cat").repeatRows(2), 0);
            s.updatePrompt("a fox", null);
            assertThat(s.prompt()).isEqualTo("a fox");
            assertThat(s.negativePrompt()).isEmpty();
            assertThat(sm.encodedTexts).containsExactly("a fox", "", "a cat", "blurry");
            assertThat(s.prompts().encoderCalls()).isEqualTo(4);
            assertThat(s.prompts().tokenIds(null)).containsExactly(s.prompts().tokenIds(""));
        }
    }

    @Test
    void aNewTIndexListOfTheSameLengthKeepsTheStreamState() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).tIndexList(32, 45).cfgType(CfgType.SELF).build()) {
            s.prepare("a fox", "", 50, 1.5, 1.0);
            s.img2img(frames(1, 1));
            s.img2img(frames(2, 1));
            FloatTensor noise = s.streamBatch().initNoise();
            FloatTensor stock = s.streamBatch().stockNoise();
            FloatTensor buffer = s.streamBatch().latentBuffer();
            s.updateTIndexList(20, 40);
            assertClose("init noise kept", s.streamBatch().initNoise(), noise, 0);
            assertClose("stock noise kept", s.streamBatch().stockNoise(), stock, 0);
            assertClose("buffer kept", s.streamBatch().latentBuffer(), buffer, 0);
            assertThat(s.config().tIndexList()).containsExactly(20, 40);
            s.img2img(frames(3, 1));
            assertThat(sm.unet.calls.get(2).timesteps()).containsExactly(599, 199);
            assertThat(s.unetCalls()).as("calls before and after the change").isEqualTo(3);
        }
    }

    @Test
    void aNewTIndexListOfAnotherLengthRestartsFromTheSeed() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).tIndexList(32, 45).seed(8).warmStart(true).cfgType(CfgType.NONE)
                .build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            s.img2img(frames(1, 1));
            s.img2img(frames(2, 1));
            s.updateTIndexList(10, 30, 45);
            assertClose("noise drawn again from the seed", s.streamBatch().initNoise(),
                    new TorchGenerator(8).randn(3, C, LATENT, LATENT), 0);
            assertThat(s.streamBatch().latentBuffer().rows()).isEqualTo(2);
            assertThat(s.streamBatch().stockNoise().data()).containsOnly(0f);
            s.img2img(frames(3, 1));
            // warm start refills the new, empty buffer from this frame
            float[] z = sm.encoderOutputs.get(2).mean().data();
            LcmCoefficients c = s.streamBatch().coefficients();
            float[] noise = s.streamBatch().initNoise().data();
            float[] expected = new float[RS];
            for (int i = 0; i < RS; i++) expected[i] = c.alphaProdSqrt()[1] * z[i] + c.betaProdSqrt()[1] * noise[RS + i];
            assertClose("refilled buffer row", sm.unet.calls.get(2).sample().rows(1, 2).data(), expected, 0);
            assertThat(s.unetCalls()).isEqualTo(3);
        }
    }

    @Test
    void aNewSeedRedrawsTheNoiseAndResetsTheStockNoiseButKeepsTheBuffer() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, true, 1f).tIndexList(32, 45).cfgType(CfgType.SELF).build()) {
            s.prepare("a fox", "", 50, 1.5, 1.0);
            s.img2img(frames(1, 1));
            FloatTensor buffer = s.streamBatch().latentBuffer();
            s.updateSeed(-1); // torch.manual_seed(-1): the seed 2^64 - 1, held as its 64 bits (TorchSeed)
            assertThat(s.seed()).isEqualTo(-1L);
            s.updateSeed(9);
            assertThat(s.seed()).isEqualTo(9);
            assertThat(s.config().seed()).isEqualTo(9);
            TorchGenerator g = new TorchGenerator(9);
            assertClose("noise from the new seed", s.streamBatch().initNoise(), g.randn(2, C, LATENT, LATENT), 0);
            assertThat(s.streamBatch().stockNoise().data()).containsOnly(0f);
            assertClose("buffer kept", s.streamBatch().latentBuffer(), buffer, 0);
            s.img2img(frames(2, 1));
            // the posterior sample of the next frame continues the new seed's generator
            float[] noise = new float[RS];
            g.fillNormal(noise);
            LatentDistribution d = sm.encoderOutputs.get(1);
            LcmCoefficients c = s.streamBatch().coefficients();
            float[] init = s.streamBatch().initNoise().data();
            float[] expected = new float[RS];
            for (int i = 0; i < RS; i++) {
                float z = d.mean().data()[i] + d.std().data()[i] * noise[i];
                expected[i] = c.alphaProdSqrt()[0] * z + c.betaProdSqrt()[0] * init[i];
            }
            assertClose("UNet input", sm.unet.calls.get(1).sample().rows(0, 1).data(), expected, 0);
        }
    }

    @Test
    void aNewSeedWithoutBufferOnlyRedrawsTheNoise() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).tIndexList(32).cfgType(CfgType.SELF).build()) {
            s.prepare("a fox", "", 50, 1.5, 1.0);
            s.img2img(frames(1, 1));
            s.updateSeed(4);
            assertClose("noise", s.streamBatch().initNoise(), new TorchGenerator(4).randn(1, C, LATENT, LATENT), 0);
            assertThat(s.streamBatch().latentBuffer()).isNull();
        }
    }

    @Test
    void theSimilarityFilterCanBeTurnedOnAndOffLive() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            FloatTensor frame = frames(1, 1);
            FloatTensor first = s.img2img(frame);
            assertThat(s.lastFilterDecision()).isNull();
            s.updateSimilarityFilter(new SimilarityFilterSettings(true, 0.5, 10));
            assertThat(s.config().similarFilter().enabled()).isTrue();
            s.img2img(frame); // the filter's first frame always passes
            FloatTensor out = FloatTensor.zeros(1, 3, SIZE, SIZE);
            s.img2imgInto(frame, out); // the same frame again: cos 1, always skipped
            assertThat(s.lastFrameSkipped()).isTrue();
            assertThat(s.lastFilterDecision().skip()).isTrue();
            assertClose("the previous output again", out, sm.decoderOutputs.get(1), 0);
            assertThat(sm.unet.calls).hasSize(2);
            s.updateSimilarityFilter(SimilarityFilterSettings.DISABLED);
            s.img2img(frame);
            assertThat(s.lastFrameSkipped()).isFalse();
            assertThat(s.lastFilterDecision()).isNull();
            assertThat(sm.unet.calls).hasSize(3);
            assertThat(first.size()).isEqualTo(out.size());
        }
    }

    @Test
    void stageTimesAreThePartsOfTheLastCall() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            long before = System.nanoTime();
            s.img2img(frames(1, 1));
            long elapsed = System.nanoTime() - before;
            StreamDiffusion.StageTimes t = s.lastStageTimes();
            assertThat(t.encodeNanos()).isBetween(0L, elapsed);
            assertThat(t.denoiseNanos()).isBetween(0L, elapsed);
            assertThat(t.decodeNanos()).isBetween(0L, elapsed);
            assertThat(t.totalNanos()).isEqualTo(t.encodeNanos() + t.denoiseNanos() + t.decodeNanos()).isLessThanOrEqualTo(elapsed);
        }
    }

    @Test
    void txt2imgDecodesTheStreamOutputOfGlobalNoise() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 0.5f).mode(Mode.TXT2IMG).tIndexList(32).cfgType(CfgType.NONE).seed(3)
                .build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            StreamBatch twin = twin(s);
            long before = System.nanoTime();
            FloatTensor out = s.txt2img();
            long elapsed = System.nanoTime() - before;
            FloatTensor x0 = twin.denoise(new TorchGenerator(3).randn(1, C, LATENT, LATENT));
            float[] expected = new float[x0.size()];
            for (int i = 0; i < expected.length; i++) expected[i] = x0.data()[i] / 0.5f;
            assertClose("decoder input", sm.decoderInputs.getFirst().data(), expected, 0);
            assertClose("output", out, sm.decoderOutputs.getFirst(), 0);
            StreamDiffusion.StageTimes t = s.lastStageTimes();
            assertThat(t.encodeNanos()).isZero();
            assertThat(t.denoiseNanos()).isBetween(0L, elapsed);
            assertThat(t.decodeNanos()).isBetween(0L, elapsed);
            assertThatThrownBy(() -> s.img2img(frames(1, 1))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("built for txt2img");
        }
    }

    @Test
    void sdTurboDecodesTheOneStepEstimateOfGlobalNoise() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 0.5f).mode(Mode.TXT2IMG).tIndexList(0).frameBufferSize(2)
                .cfgType(CfgType.NONE).seed(3).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            StreamBatch twin = twin(s);
            long before = System.nanoTime();
            FloatTensor out = s.txt2imgSdTurbo();
            long elapsed = System.nanoTime() - before;
            FloatTensor x0 = twin.oneStep(new TorchGenerator(3).randn(2, C, LATENT, LATENT));
            float[] expected = new float[x0.size()];
            for (int i = 0; i < expected.length; i++) expected[i] = x0.data()[i] / 0.5f;
            assertClose("decoder input", sm.decoderInputs.getFirst().data(), expected, 0);
            assertClose("output", out, sm.decoderOutputs.getFirst(), 0);
            StreamDiffusion.StageTimes t = s.lastStageTimes();
            assertThat(t.encodeNanos()).isZero();
            assertThat(t.denoiseNanos()).isBetween(0L, elapsed);
            assertThat(t.decodeNanos()).isBetween(0L, elapsed);
        }
    }

    @Test
    void callsBeforePrepareAndOutputsOfTheWrongSizeAreRejected() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).build()) {
            assertThatThrownBy(s::txt2img).hasMessageContaining("prepare()");
            assertThatThrownBy(s::txt2imgSdTurbo).hasMessageContaining("prepare()");
            assertThatThrownBy(() -> s.updateGuidance(1, 1)).hasMessageContaining("prepare()");
            assertThatThrownBy(() -> s.updateTIndexList(1, 2)).hasMessageContaining("prepare()");
            assertThatThrownBy(() -> s.updateSeed(1)).hasMessageContaining("prepare()");
            assertThat(s.unetCalls()).isZero();
            s.prepare("a fox", "", 50, 1.2, 1.0);
            assertThatThrownBy(() -> s.img2imgInto(frames(1, 1), FloatTensor.zeros(1, 3, 8, 8)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the output tensor is");
            assertThatThrownBy(() -> s.img2img(frames(1, 2))).hasMessageContaining("expects 1 frame(s) of 3x32x32");
            assertThatThrownBy(() -> s.img2img(FloatTensor.zeros(1, 4, SIZE, SIZE))).hasMessageContaining("expects 1 frame");
            assertThatThrownBy(() -> s.img2img(FloatTensor.zeros(1, 3, SIZE, 16))).hasMessageContaining("expects 1 frame");
            assertThatThrownBy(() -> s.img2img(FloatTensor.zeros(3, SIZE, SIZE))).hasMessageContaining("expects 1 frame");
            assertThat(s.mode()).isEqualTo(Mode.IMG2IMG);
            assertThat(s.numInferenceSteps()).isEqualTo(50);
            assertThat(s.models().description()).isEqualTo("stand-in models");
        }
    }

    @Test
    void prepareAgainCountsTheCallsOfTheStreamItReplaces() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            s.img2img(frames(1, 1));
            s.img2img(frames(2, 1));
            s.prepare("a cat", "", 50, 1.2, 1.0);
            s.img2img(frames(3, 1));
            assertThat(s.unetCalls()).isEqualTo(3);
            assertThat(s.streamBatch().unetCalls()).isEqualTo(1);
        }
    }

    @Test
    void aNegativeSeedPicksARandomOne() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).seed(-1).build()) {
            assertThat(s.seed()).isBetween(0L, 999_999L);
            s.prepare("a fox", "", 50, 1.2, 1.0);
            assertClose("noise from the chosen seed", s.streamBatch().initNoise(),
                    new TorchGenerator(s.seed()).randn(2, C, LATENT, LATENT), 0);
        }
    }

    @Test
    void givenModelsStayOpenAndTheBuilderNeedsAModel() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
        }
        assertThat(sm.closed).as("models given to the builder belong to the caller").isZero();
        assertThatThrownBy(() -> StreamDiffusion.builder().build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no model");
        assertThatThrownBy(() -> StreamDiffusion.builder().model(Path.of("nowhere")).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no TAESD folder");
        assertThatThrownBy(() -> StreamDiffusion.builder().models(sm.models(false, 1f)).size(30, 32).build())
                .hasMessageContaining("width must be a positive multiple of 8");
    }

    @Test
    void aWholeConfigurationCanBeGivenAtOnce() throws Exception {
        StreamConfig cfg = StreamConfig.builder().tIndexList(10, 40).size(SIZE, 16).frameBufferSize(2).doAddNoise(false)
                .useDenoisingBatch(false).cfgType(CfgType.INITIALIZE).seed(77).similarImageFilter(0.9, 3).build();
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = StreamDiffusion.builder().models(sm.models(false, 1f)).config(cfg).useTinyVae(false)
                .taesd(Path.of("unused")).onnxOptions(io.streamdiffusion4j.onnx.OnnxModelLoader.Options.defaults()).build()) {
            assertThat(s.config().toString()).isEqualTo(cfg.toString());
            assertThat(s.seed()).isEqualTo(77);
        }
    }

    /**
     * The UNet's conditioning is prepared once per prompt, guidance and t_index_list, at the first
     * frame after a change (one per step in the sequential loop), and every prepared one is closed.
     */
    @Test
    void theConditioningIsPreparedOncePerChangeAndReleased() throws Exception {
        StandInModels sm = StandInModels.create();
        try (StreamDiffusion s = builder(sm, false, 1f).tIndexList(32, 45).cfgType(CfgType.FULL).seed(1).build()) {
            s.prepare("a fox", "fog", 50, 1.5, 1.0);
            assertThat(sm.unet.prepared).as("nothing before the first frame").isZero();
            for (int i = 0; i < 3; i++) s.img2img(frames(i, 1));
            assertThat(sm.unet.prepared).isEqualTo(1);
            s.updatePrompt("a wolf");
            assertThat(sm.unet.released).as("the old one is released at the change").isEqualTo(1);
            s.img2img(frames(3, 1));
            s.img2img(frames(4, 1));
            assertThat(sm.unet.prepared).isEqualTo(2);
            s.updateGuidance(1.0, 1.0); // no negative rows: other embeddings rows
            s.img2img(frames(5, 1));
            s.updateTIndexList(20, 40);  // other timesteps
            s.img2img(frames(6, 1));
            assertThat(sm.unet.prepared).isEqualTo(4);
        }
        assertThat(sm.unet.released).isEqualTo(sm.unet.prepared);

        StandInModels seq = StandInModels.create();
        try (StreamDiffusion s = builder(seq, false, 1f).tIndexList(32, 45).useDenoisingBatch(false).cfgType(CfgType.NONE)
                .seed(1).build()) {
            s.prepare("a fox", "", 50, 1.0, 1.0);
            for (int i = 0; i < 3; i++) s.img2img(frames(i, 1));
            assertThat(seq.unet.prepared).as("one per step of the sequential loop").isEqualTo(2);
        }
        assertThat(seq.unet.released).isEqualTo(2);
    }
}
