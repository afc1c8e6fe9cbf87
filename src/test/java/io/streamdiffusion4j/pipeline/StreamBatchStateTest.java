package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInUnet;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The stream's state (noise, stock noise, latent buffer), its input noising, and the checks on what it is given. */
class StreamBatchStateTest {
    private static final LcmScheduler SCHEDULER = new LcmScheduler(SchedulerConfig.SD_DEFAULT);
    private static final int C = 4;
    private static final int H = 2;
    private static final int W = 2;
    private static final int RS = C * H * W;
    private static final int D = 3;

    private static StreamConfig config(int[] tIndex, int f, CfgType cfg, boolean batch) {
        return StreamConfig.builder().tIndexList(tIndex).size(W * 8, H * 8).frameBufferSize(f).cfgType(cfg)
                .useDenoisingBatch(batch).build();
    }

    private static FloatTensor embedding(float value) {
        float[] d = new float[D * 5];
        Arrays.fill(d, value);
        return new FloatTensor(d, 1, 5, D);
    }

    private static StreamBatch unprepared(StreamConfig cfg) {
        return new StreamBatch(new StandInUnet(C, D), cfg, LcmCoefficients.compute(SCHEDULER, 50, cfg.tIndexList()),
                new TorchGenerator(cfg.seed()));
    }

    private static StreamBatch stream(StreamConfig cfg, Guidance g, FloatTensor initNoise) {
        StreamBatch s = unprepared(cfg);
        s.setConditioning(g, PromptEncoder.conditioning(embedding(1), embedding(-1), g, cfg.batchSize(), cfg.frameBufferSize()));
        s.reset(initNoise);
        return s;
    }

    private static FloatTensor randn(long seed, int rows) {
        return new TorchGenerator(seed).randn(rows, C, H, W);
    }

    @Test
    void resetStartsFromTheGivenNoiseWithZeroStockNoiseAndAnEmptyBuffer() {
        FloatTensor noise = randn(1, 6);
        StreamBatch s = stream(config(new int[] {22, 32, 45}, 2, CfgType.SELF, true), Guidance.of(CfgType.SELF, 1.2, 1), noise);
        float[] given = noise.data().clone();
        noise.data()[0] = 99; // the stream keeps its own copy
        assertThat(s.initNoise().data()).containsExactly(given);
        assertThat(s.stockNoise().shape()).containsExactly(6, C, H, W);
        assertThat(s.stockNoise().data()).containsOnly(0f);
        assertThat(s.latentBuffer().shape()).as("(n - 1) f rows").containsExactly(4, C, H, W);
        assertThat(s.latentBuffer().data()).containsOnly(0f);
        s.initNoise().data()[0] = 42; // and hands out copies
        s.latentBuffer().data()[0] = 42;
        s.stockNoise().data()[0] = 42;
        assertThat(s.initNoise().data()[0]).isEqualTo(given[0]);
        assertThat(s.latentBuffer().data()[0]).isZero();
        assertThat(s.stockNoise().data()[0]).isZero();
    }

    @Test
    void thereIsNoBufferWithOneStepOrWithoutStreamBatch() {
        Guidance g = Guidance.of(CfgType.NONE, 1, 1);
        assertThat(stream(config(new int[] {32}, 1, CfgType.NONE, true), g, randn(1, 1)).latentBuffer()).isNull();
        assertThat(stream(config(new int[] {32, 45}, 1, CfgType.NONE, false), g, randn(1, 1)).latentBuffer()).isNull();
        assertThat(unprepared(config(new int[] {32, 45}, 1, CfgType.NONE, true)).initNoise()).isNull();
        assertThat(unprepared(config(new int[] {32, 45}, 1, CfgType.NONE, true)).stockNoise()).isNull();
    }

    @Test
    void inputNoiseIsTheFirstStepsMixOfLatentAndTheFirstNoiseRowForEveryFrame() {
        StreamConfig cfg = config(new int[] {32, 45}, 2, CfgType.NONE, true);
        FloatTensor noise = randn(3, 4);
        StreamBatch s = stream(cfg, Guidance.of(CfgType.NONE, 1, 1), noise);
        FloatTensor z = randn(4, 2);
        FloatTensor noised = s.addInputNoise(z);
        float a = s.coefficients().alphaProdSqrt()[0];
        float b = s.coefficients().betaProdSqrt()[0];
        float[] expected = new float[z.size()];
        for (int i = 0; i < expected.length; i++) expected[i] = a * z.data()[i] + b * noise.data()[i % RS];
        assertClose("sqrt(a0) z + sqrt(1 - a0) N[0]", noised.data(), expected, 0);
        assertThat(z.data()).as("addInputNoise leaves its input alone").containsExactly(randn(4, 2).data());
    }

    @Test
    void restoredStateIsWhatTheStreamContinuesFrom() {
        StreamConfig cfg = config(new int[] {32, 45}, 1, CfgType.SELF, true);
        Guidance g = Guidance.of(CfgType.SELF, 1.5, 0.7);
        StreamBatch a = stream(cfg, g, randn(1, 2));
        for (int i = 0; i < 3; i++) a.denoise(randn(10 + i, 1));
        StreamBatch b = stream(cfg, g, randn(1, 2));
        FloatTensor stock = a.stockNoise();
        FloatTensor buffer = a.latentBuffer();
        b.restoreState(stock, buffer);
        stock.data()[0] = 99; // restoreState copies
        buffer.data()[0] = 99;
        FloatTensor next = randn(20, 1);
        assertClose("same state, same output", b.denoise(next), a.denoise(next), 0);
        assertClose("stock noise", b.stockNoise(), a.stockNoise(), 0);
        assertClose("buffer", b.latentBuffer(), a.latentBuffer(), 0);
    }

    @Test
    void restoredStateMustFitTheStream() {
        StreamConfig cfg = config(new int[] {32, 45}, 1, CfgType.SELF, true);
        StreamBatch fresh = unprepared(cfg);
        assertThatThrownBy(() -> fresh.restoreState(randn(1, 2), randn(1, 1)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("reset()");
        StreamBatch s = stream(cfg, Guidance.of(CfgType.SELF, 1.5, 1), randn(1, 2));
        assertThatThrownBy(() -> s.restoreState(randn(1, 3), randn(1, 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stock noise");
        assertThatThrownBy(() -> s.restoreState(randn(1, 2), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("latent buffer");
        assertThatThrownBy(() -> s.restoreState(randn(1, 2), randn(1, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("latent buffer");
        StreamBatch oneStep = stream(config(new int[] {32}, 1, CfgType.SELF, true), Guidance.of(CfgType.SELF, 1.5, 1),
                randn(1, 1));
        assertThatThrownBy(() -> oneStep.restoreState(randn(1, 1), randn(1, 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("latent buffer");
        oneStep.restoreState(randn(2, 1), null);
        assertThat(oneStep.stockNoise().data()).containsExactly(randn(2, 1).data());
    }

    @Test
    void denoiseNeedsAPreparedStreamAndFRowsOfTheLatentSize() {
        StreamConfig cfg = config(new int[] {32, 45}, 2, CfgType.NONE, true);
        StreamBatch noNoise = unprepared(cfg);
        noNoise.setConditioning(Guidance.of(CfgType.NONE, 1, 1), embedding(1).repeatRows(4));
        assertThatThrownBy(() -> noNoise.denoise(randn(1, 2))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("prepare()");
        StreamBatch noGuidance = unprepared(cfg);
        noGuidance.reset(randn(1, 4));
        assertThatThrownBy(() -> noGuidance.denoise(randn(1, 2))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("prepare()");

        StreamBatch s = stream(cfg, Guidance.of(CfgType.NONE, 1, 1), randn(1, 4));
        assertThatThrownBy(() -> s.denoise(randn(1, 1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected 2 latent rows of 16 values");
        assertThatThrownBy(() -> s.denoise(new FloatTensor(new float[2 * 12], 2, 3, 2, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("of 16 values");
        assertThatThrownBy(() -> s.denoiseInto(randn(1, 2), new float[RS]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("output holds 16 values, expected 32");
        float[] out = new float[2 * RS];
        s.denoiseInto(randn(1, 2), out);
        assertThat(s.unetCalls()).isEqualTo(1);
    }

    @Test
    void denoiseIntoWritesWhatDenoiseReturns() {
        StreamConfig cfg = config(new int[] {32, 45}, 1, CfgType.SELF, true);
        Guidance g = Guidance.of(CfgType.SELF, 1.5, 1);
        StreamBatch a = stream(cfg, g, randn(1, 2));
        StreamBatch b = stream(cfg, g, randn(1, 2));
        for (int call = 0; call < 3; call++) {
            float[] into = new float[RS];
            b.denoiseInto(randn(5 + call, 1), into);
            assertClose("call " + call, into, a.denoise(randn(5 + call, 1)).data(), 0);
        }
    }

    @Test
    void theUnetBatchMustMatchTheConditioningRows() {
        StreamConfig cfg = config(new int[] {32, 45}, 1, CfgType.FULL, true);
        StreamBatch s = unprepared(cfg);
        s.reset(randn(1, 2));
        // full guidance needs 4 rows of embeddings, but only the 2 prompt rows are given
        s.setConditioning(Guidance.of(CfgType.FULL, 1.5, 1), embedding(1).repeatRows(2));
        assertThatThrownBy(() -> s.denoise(randn(2, 1))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("4 rows").hasMessageContaining("embeddings 2");
    }

    @Test
    void oneStepWithoutStreamBatchUsesTheFirstStepForEveryFrame() {
        StreamConfig cfg = config(new int[] {0}, 2, CfgType.NONE, false);
        StandInUnet unet = new StandInUnet(C, D);
        StreamBatch s = new StreamBatch(unet, cfg, LcmCoefficients.compute(SCHEDULER, 50, cfg.tIndexList()),
                new TorchGenerator(2));
        s.setConditioning(Guidance.of(CfgType.NONE, 1, 1), embedding(1).repeatRows(2));
        s.reset(randn(1, 2));
        FloatTensor x = randn(4, 2);
        FloatTensor x0 = s.oneStep(x);
        assertThat(unet.calls.getFirst().timesteps()).containsExactly(999, 999);
        FloatTensor eps = new StandInUnet(C, D).predictNoise(x, new long[] {999, 999}, embedding(1).repeatRows(2));
        float a = s.coefficients().alphaProdSqrt()[0];
        float b = s.coefficients().betaProdSqrt()[0];
        float[] expected = new float[x.size()];
        for (int i = 0; i < expected.length; i++) expected[i] = (x.data()[i] - b * eps.data()[i]) / a;
        assertClose("x0 = (x - sqrt(1 - a) eps) / sqrt(a)", x0.data(), expected, 0);
        assertThat(s.unetCalls()).isEqualTo(1);
        assertThat(s.unetRows()).isEqualTo(2);
    }

    @Test
    void oneStepRejectsWhatItCannotDo() {
        StreamConfig sequential = config(new int[] {0, 10}, 1, CfgType.NONE, false);
        StreamBatch twoSteps = stream(sequential, Guidance.of(CfgType.NONE, 1, 1), randn(1, 1));
        assertThatThrownBy(() -> twoSteps.oneStep(randn(2, 1))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("exactly one entry in t_index_list, found 2");

        StreamConfig batch = config(new int[] {0}, 2, CfgType.NONE, true);
        StreamBatch s = stream(batch, Guidance.of(CfgType.NONE, 1, 1), randn(1, 2));
        assertThatThrownBy(() -> s.oneStep(randn(2, 3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected 2 rows");
        assertThatThrownBy(() -> unprepared(batch).oneStep(randn(2, 2))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("prepare()");

        StreamConfig full = config(new int[] {0}, 1, CfgType.FULL, true);
        StreamBatch guided = stream(full, Guidance.of(CfgType.FULL, 1.5, 1), randn(1, 1));
        assertThatThrownBy(() -> guided.oneStep(randn(2, 1))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no guidance rows");
        assertThat(guided.unetCalls()).isZero();
    }

    @Test
    void unetRowsCountsTheNegativeRowsOfEachMode() {
        StreamConfig cfg = config(new int[] {22, 32, 45}, 2, CfgType.FULL, true);
        assertThat(StreamBatch.unetRows(cfg, Guidance.of(CfgType.FULL, 1.5, 1))).isEqualTo(12);
        assertThat(StreamBatch.unetRows(cfg, Guidance.of(CfgType.FULL, 1.0, 1))).isEqualTo(6);
        assertThat(StreamBatch.unetRows(cfg, Guidance.of(CfgType.INITIALIZE, 1.5, 1))).isEqualTo(8);
        assertThat(StreamBatch.unetRows(cfg, Guidance.of(CfgType.SELF, 1.5, 1))).isEqualTo(6);
        assertThat(StreamBatch.unetRows(cfg, Guidance.of(CfgType.NONE, 1.5, 1))).isEqualTo(6);
        StreamConfig sequential = config(new int[] {22, 32, 45}, 2, CfgType.FULL, false);
        assertThat(StreamBatch.unetRows(sequential, Guidance.of(CfgType.FULL, 1.5, 1))).isEqualTo(4);
    }
}
