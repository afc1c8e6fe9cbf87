package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.random.MemoryFormat;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInUnet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stream-batch and RCFG math in isolation, with stand-in UNets (replayed runs: {@link ReplayedRunTest}). */
class StreamBatchTest {
    private static final LcmScheduler SCHEDULER = new LcmScheduler(SchedulerConfig.SD_DEFAULT);
    private static final int C = 4;
    private static final int H = 2;
    private static final int W = 2;
    private static final int D = 3;

    private static StreamConfig config(int[] tIndex, int f, CfgType cfg, boolean batch, boolean noise) {
        return StreamConfig.builder().tIndexList(tIndex).size(W * 8, H * 8).frameBufferSize(f).cfgType(cfg)
                .useDenoisingBatch(batch).doAddNoise(noise).build();
    }

    private static FloatTensor embedding(float value) {
        float[] d = new float[D * 5];
        java.util.Arrays.fill(d, value);
        return new FloatTensor(d, 1, 5, D);
    }

    private static StreamBatch stream(Unet unet, StreamConfig cfg, Guidance g, FloatTensor initNoise) {
        StreamBatch s = new StreamBatch(unet, cfg, LcmCoefficients.compute(SCHEDULER, 50, cfg.tIndexList()),
                new TorchGenerator(cfg.seed()));
        s.setConditioning(g, PromptEncoder.conditioning(embedding(1), embedding(-1), g, cfg.batchSize(), cfg.frameBufferSize()));
        s.reset(initNoise);
        return s;
    }

    private static FloatTensor randn(long seed, int rows) {
        return new TorchGenerator(seed).randn(rows, C, H, W);
    }

    @Test
    void unetRowsPerGuidanceMode() {
        int[] tIndex = {32, 45};
        record Case(CfgType cfg, double g, int rows, long[] t, float[] embeddingSigns) {}
        List<Case> cases = List.of(
                new Case(CfgType.NONE, 1.5, 2, new long[] {359, 99}, new float[] {1, 1}),
                new Case(CfgType.SELF, 1.5, 2, new long[] {359, 99}, new float[] {1, 1}),
                new Case(CfgType.FULL, 1.5, 4, new long[] {359, 99, 359, 99}, new float[] {-1, -1, 1, 1}),
                new Case(CfgType.INITIALIZE, 1.5, 3, new long[] {359, 359, 99}, new float[] {-1, 1, 1}),
                new Case(CfgType.FULL, 1.0, 2, new long[] {359, 99}, new float[] {1, 1}),
                new Case(CfgType.INITIALIZE, 1.0, 2, new long[] {359, 99}, new float[] {1, 1}));
        for (Case c : cases) {
            StandInUnet unet = new StandInUnet(C, D);
            StreamConfig cfg = config(tIndex, 1, c.cfg(), true, true);
            StreamBatch s = stream(unet, cfg, Guidance.of(c.cfg(), c.g(), 1.0), randn(2, 2));
            s.denoise(randn(3, 1));
            StandInUnet.Call call = unet.calls.getFirst();
            assertThat(call.sample().rows()).as(c.toString()).isEqualTo(c.rows());
            assertThat(call.timesteps()).as(c.toString()).containsExactly(c.t());
            for (int r = 0; r < c.rows(); r++) {
                assertThat(call.hiddenStates().data()[r * 5 * D]).as(c + " embedding row " + r).isEqualTo(c.embeddingSigns()[r]);
            }
            assertThat(s.unetRows()).isEqualTo(c.rows());
        }
    }

    /**
     * With frame_buffer_size f > 1 and several steps (broken in the original), the rows of the
     * stream batch form f independent streams: frame j of an f-frame stream comes out exactly as
     * it would from a single-frame stream whose fixed noise is the j-th row of each step block.
     */
    @Test
    void severalFramesAndSeveralStepsBehaveAsIndependentStreams() {
        int[] tIndex = {22, 32, 45};
        int n = tIndex.length;
        int f = 2;
        for (CfgType cfgType : new CfgType[] {CfgType.SELF, CfgType.INITIALIZE, CfgType.FULL, CfgType.NONE}) {
            Guidance g = Guidance.of(cfgType, 1.5, 0.8);
            FloatTensor noise = randn(5, n * f);
            StreamBatch multi = stream(new StandInUnet(C, D), config(tIndex, f, cfgType, true, true), g, noise);
            List<StreamBatch> singles = new ArrayList<>();
            for (int j = 0; j < f; j++) {
                List<FloatTensor> rows = new ArrayList<>();
                for (int i = 0; i < n; i++) rows.add(noise.rows(i * f + j, i * f + j + 1));
                singles.add(stream(new StandInUnet(C, D), config(tIndex, 1, cfgType, true, true), g,
                        FloatTensor.concatRows(rows.toArray(FloatTensor[]::new))));
            }
            for (int call = 0; call < 6; call++) {
                FloatTensor input = randn(100 + call, f);
                FloatTensor out = multi.denoise(input);
                for (int j = 0; j < f; j++) {
                    FloatTensor single = singles.get(j).denoise(input.rows(j, j + 1));
                    assertClose(cfgType + " call " + call + " frame " + j, out.rows(j, j + 1), single, 0);
                }
            }
        }
    }

    /**
     * Without Stream Batch every step is its own UNet call and the estimate is re-noised with
     * fresh draws from the global generator; the input latent becomes the next init noise.
     */
    @Test
    void sequentialLoopRenoisesFromTheGlobalGenerator() {
        int[] tIndex = {32, 45};
        StandInUnet unet = new StandInUnet(C, D);
        StreamConfig cfg = config(tIndex, 1, CfgType.NONE, false, true);
        StreamBatch s = stream(unet, cfg, Guidance.of(CfgType.NONE, 1.0, 1.0), randn(9, 1));
        FloatTensor x = randn(10, 1);
        FloatTensor out = s.denoise(x);
        assertThat(unet.calls).hasSize(2);
        assertThat(unet.calls.get(0).timesteps()).containsExactly(359);
        assertThat(unet.calls.get(1).timesteps()).containsExactly(99);
        assertClose("init noise replaced by the input", s.initNoise(), x, 0);
        assertThat(s.latentBuffer()).isNull();

        // recompute step 1 by hand: x0 = c_out (x - b eps) / a + c_skip x, then a' x0 + b' randn
        LcmCoefficients c = s.coefficients();
        FloatTensor eps0 = new StandInUnet(C, D).predictNoise(x, new long[] {359}, unet.calls.get(0).hiddenStates());
        float[] fresh = new TorchGenerator(cfg.seed()).randn(1, C, H, W).data();
        float[] expected = new float[x.size()];
        for (int i = 0; i < expected.length; i++) {
            float x0 = c.cOut()[0] * ((x.data()[i] - c.betaProdSqrt()[0] * eps0.data()[i]) / c.alphaProdSqrt()[0])
                    + c.cSkip()[0] * x.data()[i];
            expected[i] = c.alphaProdSqrt()[1] * x0 + c.betaProdSqrt()[1] * fresh[i];
        }
        assertClose("second step input", unet.calls.get(1).sample().data(), expected, 0);
        assertThat(out.rows()).isEqualTo(1);
    }

    /**
     * img2img latents are channels-last in the original, so {@code torch.randn_like(x_0_pred)}
     * between steps draws torch's scalar samples in NHWC order (issue 11): each step's UNet input
     * is a' x0 + b' times the next channels-last draw of the global generator, draw after draw.
     * Two frames of 4x2x2 (16 values each: the size where torch's contiguous path would start).
     */
    @Test
    void sequentialLoopDrawsImg2imgNoiseInChannelsLastOrder() {
        int[] tIndex = {16, 32, 45};
        StandInUnet unet = new StandInUnet(C, D);
        StreamConfig cfg = config(tIndex, 2, CfgType.NONE, false, true);
        StreamBatch s = stream(unet, cfg, Guidance.of(CfgType.NONE, 1.0, 1.0), randn(9, 2));
        FloatTensor x = randn(10, 2);
        s.denoise(x, MemoryFormat.CHANNELS_LAST);
        assertThat(unet.calls).hasSize(3);

        LcmCoefficients c = s.coefficients();
        TorchGenerator global = new TorchGenerator(cfg.seed());
        for (int k = 0; k < 2; k++) {
            FloatTensor in = unet.calls.get(k).sample();
            FloatTensor eps = new StandInUnet(C, D).predictNoise(in, unet.calls.get(k).timesteps(), unet.calls.get(k).hiddenStates());
            float[] fresh = global.randnLike(MemoryFormat.CHANNELS_LAST, 2, C, H, W).data();
            float[] contiguous = new TorchGenerator(cfg.seed()).randn(2, C, H, W).data();
            assertThat(fresh).as("the test tells the two orders apart").isNotEqualTo(contiguous);
            float[] expected = new float[in.size()];
            for (int i = 0; i < expected.length; i++) {
                float x0 = c.cOut()[k] * ((in.data()[i] - c.betaProdSqrt()[k] * eps.data()[i]) / c.alphaProdSqrt()[k])
                        + c.cSkip()[k] * in.data()[i];
                expected[i] = c.alphaProdSqrt()[k + 1] * x0 + c.betaProdSqrt()[k + 1] * fresh[i];
            }
            assertClose("step " + (k + 1) + " input", unet.calls.get(k + 1).sample().data(), expected, 0);
        }
    }

    @Test
    void oneStepTurboPathHasNoBoundaryScalingOrBuffer() {
        StandInUnet unet = new StandInUnet(C, D);
        StreamConfig cfg = config(new int[] {0}, 2, CfgType.NONE, true, true);
        StreamBatch s = stream(unet, cfg, Guidance.of(CfgType.NONE, 1.0, 1.0), randn(2, 2));
        FloatTensor x = randn(4, 2);
        FloatTensor x0 = s.oneStep(x);
        FloatTensor eps = new StandInUnet(C, D).predictNoise(x, new long[] {999, 999}, unet.calls.getFirst().hiddenStates());
        float a = s.coefficients().alphaProdSqrt()[0];
        float b = s.coefficients().betaProdSqrt()[0];
        float[] expected = new float[x.size()];
        for (int i = 0; i < expected.length; i++) expected[i] = (x.data()[i] - b * eps.data()[i]) / a;
        assertClose("x0", x0.data(), expected, 0);
    }
}
