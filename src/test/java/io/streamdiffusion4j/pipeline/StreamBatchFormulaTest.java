package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInUnet;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Stream Batch against the original's {@code predict_x0_batch} / {@code unet_step} /
 * {@code scheduler_step_batch}, written out plainly below (one array per row, no buffers reused,
 * no in-place tricks) for every guidance mode, with and without guidance, with delta &lt; 1, with
 * and without re-noising, for 1 to 3 steps, over several calls.
 *
 * <p>The scheduler here uses {@code timestep_scaling} 0.01 instead of LCM's 10, so that both
 * boundary terms c_skip and c_out weigh on the result (with the real scaling c_skip is below 1e-5
 * at the timesteps used, and dropping it would hide under float32 noise). The stand-in UNet makes
 * every row's prediction depend on its sample, timestep and embedding, so a row or term that is
 * mixed up, dropped or reversed changes the numbers.
 */
class StreamBatchFormulaTest {
    private static final LcmScheduler SCHEDULER = new LcmScheduler(
            new SchedulerConfig(1000, 0.00085, 0.012, "scaled_linear", null, 50, 0.01, false));
    private static final int C = 4;
    private static final int H = 2;
    private static final int W = 2;
    private static final int RS = C * H * W;
    private static final int D = 3;
    private static final float POSITIVE = 1f;
    private static final float NEGATIVE = -1f;
    private static final int CALLS = 5;

    @Test
    void theBoundaryScalingsOfThisSchedulerAreNotNegligible() {
        LcmCoefficients c = LcmCoefficients.compute(SCHEDULER, 50, new int[] {22, 32, 45});
        for (int i = 0; i < 3; i++) {
            assertThat(c.cSkip()[i]).as("c_skip at t=%d", c.timesteps()[i]).isGreaterThan(0.005f);
            assertThat(c.cOut()[i]).as("c_out at t=%d", c.timesteps()[i]).isGreaterThan(0.1f);
        }
    }

    @Test
    void streamBatchFollowsTheOriginalsFormulasInEveryGuidanceMode() {
        for (int[] tIndex : new int[][] {{45}, {32, 45}, {22, 32, 45}}) {
            for (CfgType cfg : CfgType.values()) {
                for (double scale : new double[] {1.0, 1.7}) {
                    for (boolean noise : new boolean[] {true, false}) {
                        checkAgainstOracle(tIndex, 1, cfg, scale, 0.6, noise);
                    }
                }
            }
        }
    }

    /** With one step the original treats f frames as f rows of one step; (initialize differs there, see PARITY.md). */
    @Test
    void oneStepWithSeveralFramesFollowsTheOriginalsFormulas() {
        for (CfgType cfg : new CfgType[] {CfgType.NONE, CfgType.SELF, CfgType.FULL}) {
            checkAgainstOracle(new int[] {32}, 2, cfg, 1.7, 0.6, true);
        }
    }

    @Test
    void deltaOneAndDeltaZeroAreTheFullAndTheAbsentVirtualNegative() {
        // delta scales the virtual negative: delta 0 leaves g * (text prediction), delta 1 the whole residual.
        checkAgainstOracle(new int[] {32, 45}, 1, CfgType.SELF, 1.4, 0.0, true);
        checkAgainstOracle(new int[] {32, 45}, 1, CfgType.SELF, 1.4, 1.0, true);
        checkAgainstOracle(new int[] {32, 45}, 1, CfgType.INITIALIZE, 2.5, 1.0, true);
    }

    @Test
    void sequentialLoopFollowsTheOriginalsFormulasInEveryGuidanceMode() {
        for (CfgType cfg : CfgType.values()) {
            for (boolean noise : new boolean[] {true, false}) {
                checkSequentialAgainstOracle(new int[] {22, 32, 45}, cfg, 1.7, 0.6, noise);
            }
        }
    }

    private static StreamConfig config(int[] tIndex, int f, CfgType cfg, boolean batch, boolean noise) {
        return StreamConfig.builder().tIndexList(tIndex).size(W * 8, H * 8).frameBufferSize(f).cfgType(cfg)
                .useDenoisingBatch(batch).doAddNoise(noise).build();
    }

    private static FloatTensor embedding(float value) {
        float[] d = new float[D * 5];
        Arrays.fill(d, value);
        return new FloatTensor(d, 1, 5, D);
    }

    private static StreamBatch stream(StandInUnet unet, StreamConfig cfg, Guidance g, FloatTensor initNoise) {
        StreamBatch s = new StreamBatch(unet, cfg, LcmCoefficients.compute(SCHEDULER, 50, cfg.tIndexList()),
                new TorchGenerator(cfg.seed()));
        s.setConditioning(g, PromptEncoder.conditioning(embedding(POSITIVE), embedding(NEGATIVE), g, cfg.batchSize(),
                cfg.frameBufferSize()));
        s.reset(initNoise);
        return s;
    }

    private static void checkAgainstOracle(int[] tIndex, int f, CfgType cfg, double scale, double delta, boolean noise) {
        String what = cfg + " g=" + scale + " delta=" + delta + " t_index_list=" + Arrays.toString(tIndex) + " f=" + f
                + " noise=" + noise;
        StreamConfig config = config(tIndex, f, cfg, true, noise);
        Guidance g = Guidance.of(cfg, scale, delta);
        int rows = tIndex.length * f;
        FloatTensor initNoise = new TorchGenerator(11).randn(rows, C, H, W);
        StandInUnet unet = new StandInUnet(C, D);
        StreamBatch stream = stream(unet, config, g, initNoise);
        Oracle oracle = new Oracle(LcmCoefficients.compute(SCHEDULER, 50, tIndex), f, cfg, (float) scale, (float) delta,
                noise, initNoise.data());
        TorchGenerator inputs = new TorchGenerator(23);
        for (int call = 0; call < CALLS; call++) {
            String at = what + " call " + call;
            FloatTensor x = inputs.randn(f, C, H, W);
            FloatTensor out = stream.denoise(x);
            float[] expected = oracle.step(x.data());
            StandInUnet.Call unetCall = unet.calls.get(call);
            assertClose(at + ": UNet input", unetCall.sample().data(), oracle.lastUnetInput, 0);
            assertThat(unetCall.timesteps()).as(at + ": UNet timesteps").containsExactly(oracle.lastUnetTimesteps);
            assertThat(StreamBatch.unetRows(config, g)).as(at + ": rows per UNet call").isEqualTo(unetCall.sample().rows());
            assertClose(at + ": denoised output", out.data(), expected, 0);
            assertClose(at + ": stock noise", stream.stockNoise().data(), oracle.stock, 0);
            if (tIndex.length > 1) {
                assertClose(at + ": latent buffer", stream.latentBuffer().data(), oracle.buffer, 0);
            } else {
                assertThat(stream.latentBuffer()).as(at + ": no latent buffer with one step").isNull();
            }
        }
        assertThat(stream.unetCalls()).as(what).isEqualTo(CALLS);
        assertThat(stream.unetRows()).as(what).isEqualTo((long) CALLS * StreamBatch.unetRows(config, g));
    }

    private static void checkSequentialAgainstOracle(int[] tIndex, CfgType cfg, double scale, double delta, boolean noise) {
        String what = "sequential " + cfg + " noise=" + noise;
        StreamConfig config = config(tIndex, 1, cfg, false, noise);
        Guidance g = Guidance.of(cfg, scale, delta);
        StandInUnet unet = new StandInUnet(C, D);
        StreamBatch stream = stream(unet, config, g, new TorchGenerator(11).randn(1, C, H, W));
        LcmCoefficients c = LcmCoefficients.compute(SCHEDULER, 50, tIndex);
        TorchGenerator global = new TorchGenerator(config.seed());
        TorchGenerator inputs = new TorchGenerator(23);
        float[] stock = new float[RS]; // never updated without Stream Batch (only initialize overwrites it)
        int unetCall = 0;
        for (int call = 0; call < 3; call++) {
            FloatTensor xIn = inputs.randn(1, C, H, W);
            float[] out = stream.denoise(xIn).data();
            float[] x = xIn.data().clone();
            float[] x0 = null;
            for (int step = 0; step < tIndex.length; step++) {
                String at = what + " call " + call + " step " + step;
                Guided guided = guide(x, 1, new long[] {c.timesteps()[step]}, cfg, g, stock, 1);
                StandInUnet.Call seen = unet.calls.get(unetCall++);
                assertClose(at + ": UNet input", seen.sample().data(), guided.unetInput, 0);
                assertThat(seen.timesteps()).as(at).containsExactly(guided.unetTimesteps);
                if (guided.newStock != null) stock = guided.newStock;
                x0 = new float[RS];
                for (int i = 0; i < RS; i++) {
                    x0[i] = c.cOut()[step] * ((x[i] - c.betaProdSqrt()[step] * guided.eps[i]) / c.alphaProdSqrt()[step])
                            + c.cSkip()[step] * x[i];
                }
                if (step < tIndex.length - 1) {
                    float a = c.alphaProdSqrt()[step + 1];
                    float b = c.betaProdSqrt()[step + 1];
                    float[] fresh = noise ? global.randn(1, C, H, W).data() : null;
                    for (int i = 0; i < RS; i++) x[i] = noise ? a * x0[i] + b * fresh[i] : a * x0[i];
                }
            }
            assertClose(what + " call " + call + ": output", out, x0, 0);
            assertClose(what + " call " + call + ": the input became the init noise", stream.initNoise().data(),
                    xIn.data(), 0);
        }
    }

    /** The UNet call of {@code unet_step} with its guidance, for {@code rows} rows of the batch {@code x}. */
    private record Guided(float[] unetInput, long[] unetTimesteps, float[] eps, float[] newStock) {}

    private static Guided guide(float[] x, int rows, long[] t, CfgType cfg, Guidance g, float[] stock, int frames) {
        boolean active = g.scale() > 1f && cfg != CfgType.NONE;
        int negatives = !active ? 0 : cfg == CfgType.FULL ? rows : cfg == CfgType.INITIALIZE ? frames : 0;
        float[] input = new float[(negatives + rows) * RS];
        long[] times = new long[negatives + rows];
        float[] hidden = new float[(negatives + rows) * 5 * D];
        for (int r = 0; r < negatives + rows; r++) {
            int source = r < negatives ? r : r - negatives; // the negative rows repeat the first rows
            System.arraycopy(x, source * RS, input, r * RS, RS);
            times[r] = t[source];
            Arrays.fill(hidden, r * 5 * D, (r + 1) * 5 * D, r < negatives ? NEGATIVE : POSITIVE);
        }
        float[] pred = new StandInUnet(C, D).predictNoise(new FloatTensor(input, negatives + rows, C, H, W), times,
                new FloatTensor(hidden, negatives + rows, 5, D)).data();
        float[] text = Arrays.copyOfRange(pred, negatives * RS, pred.length);
        float[] newStock = null;
        float[] uncond = null;
        if (active && cfg == CfgType.INITIALIZE) {
            newStock = stock.clone();
            System.arraycopy(pred, 0, newStock, 0, frames * RS); // stock_noise[0:f] = the negative prediction
        }
        if (active && cfg == CfgType.FULL) uncond = Arrays.copyOf(pred, rows * RS);
        if (active && cfg.usesStockNoise()) {
            float[] s = newStock != null ? newStock : stock;
            uncond = new float[rows * RS];
            for (int i = 0; i < uncond.length; i++) uncond[i] = s[i] * g.delta();
        }
        float[] eps = text;
        if (active) {
            eps = new float[rows * RS];
            for (int i = 0; i < eps.length; i++) eps[i] = uncond[i] + g.scale() * (text[i] - uncond[i]);
        }
        return new Guided(input, times, eps, newStock);
    }

    /** The original's stream state and one call of {@code predict_x0_batch}, for f = 1 (or one step). */
    private static final class Oracle {
        final LcmCoefficients c;
        final int f;
        final int n;
        final int rows;
        final CfgType cfg;
        final Guidance g;
        final boolean noise;
        final float[] initNoise;
        float[] stock;
        float[] buffer;
        float[] lastUnetInput;
        long[] lastUnetTimesteps;

        Oracle(LcmCoefficients c, int f, CfgType cfg, float scale, float delta, boolean noise, float[] initNoise) {
            this.c = c;
            this.f = f;
            this.n = c.steps();
            this.rows = n * f;
            this.cfg = cfg;
            this.g = Guidance.of(cfg, scale, delta);
            this.noise = noise;
            this.initNoise = initNoise.clone();
            this.stock = new float[rows * RS];
            this.buffer = new float[(n - 1) * f * RS];
        }

        private int stepOf(int row) {
            return row / f;
        }

        float[] step(float[] xIn) {
            // x_t_latent = cat(x, buffer); stock_noise = cat(init_noise[0:1], stock_noise[:-1])
            float[] x = new float[rows * RS];
            System.arraycopy(xIn, 0, x, 0, f * RS);
            if (n > 1) {
                System.arraycopy(buffer, 0, x, f * RS, buffer.length);
                float[] shifted = new float[rows * RS];
                System.arraycopy(initNoise, 0, shifted, 0, f * RS);
                System.arraycopy(stock, 0, shifted, f * RS, (rows - f) * RS);
                stock = shifted;
            }
            long[] t = new long[rows];
            for (int r = 0; r < rows; r++) t[r] = c.timesteps()[stepOf(r)];
            Guided guided = guide(x, rows, t, cfg, g, stock, f);
            lastUnetInput = guided.unetInput;
            lastUnetTimesteps = guided.unetTimesteps;
            if (guided.newStock != null) stock = guided.newStock;
            float[] x0 = schedulerStep(guided.eps, x);
            if (cfg == CfgType.SELF || cfg == CfgType.INITIALIZE) {
                // scaled_noise = beta * stock; delta_x = step(eps, scaled) * alpha_next / beta_next;
                // stock = roll(init_noise, -1 row) + delta_x (the next row's values, 1 past the last)
                float[] scaled = new float[rows * RS];
                for (int i = 0; i < scaled.length; i++) scaled[i] = c.betaProdSqrt()[stepOf(i / RS)] * stock[i];
                float[] dx = schedulerStep(guided.eps, scaled);
                int shift = n > 1 ? f : 1;
                float[] next = new float[rows * RS];
                for (int r = 0; r < rows; r++) {
                    int nr = r + shift;
                    float aNext = nr < rows ? c.alphaProdSqrt()[stepOf(nr)] : 1f;
                    float bNext = nr < rows ? c.betaProdSqrt()[stepOf(nr)] : 1f;
                    for (int j = 0; j < RS; j++) {
                        float d = aNext * dx[r * RS + j];
                        d = d / bNext;
                        next[r * RS + j] = initNoise[(nr % rows) * RS + j] + d;
                    }
                }
                stock = next;
            }
            if (n == 1) return x0;
            // buffer = alpha[1:] * x0[:-1] + beta[1:] * init_noise[1:]
            float[] nextBuffer = new float[(rows - f) * RS];
            for (int r = 0; r < rows - f; r++) {
                float a = c.alphaProdSqrt()[stepOf(r + f)];
                float b = c.betaProdSqrt()[stepOf(r + f)];
                for (int j = 0; j < RS; j++) {
                    int i = r * RS + j;
                    nextBuffer[i] = noise ? a * x0[i] + b * initNoise[(r + f) * RS + j] : a * x0[i];
                }
            }
            buffer = nextBuffer;
            return Arrays.copyOfRange(x0, (rows - f) * RS, rows * RS);
        }

        /** x0 = c_out * (x - sqrt(1 - a) eps) / sqrt(a) + c_skip * x, each row with its step's coefficients. */
        private float[] schedulerStep(float[] eps, float[] x) {
            float[] out = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                int s = stepOf(i / RS);
                float fx = (x[i] - c.betaProdSqrt()[s] * eps[i]) / c.alphaProdSqrt()[s];
                out[i] = c.cOut()[s] * fx + c.cSkip()[s] * x[i];
            }
            return out;
        }
    }
}
