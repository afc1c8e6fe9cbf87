package io.streamdiffusion4j.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * The noise schedules other than SD's (which LcmSchedulerTest checks bit for bit against torch),
 * each against its definition computed here in double precision, and the LCM quantities derived
 * from a schedule.
 */
class BetaScheduleTest {

    private static SchedulerConfig config(String schedule, int n, boolean rescale) {
        return new SchedulerConfig(n, 0.0001, 0.02, schedule, null, Math.min(50, n), 10.0, rescale);
    }

    /** alphas_cumprod from betas in double: prod (1 - beta_i). */
    private static double[] cumprod(double[] betas) {
        double[] out = new double[betas.length];
        double acc = 1;
        for (int i = 0; i < betas.length; i++) {
            acc *= 1 - betas[i];
            out[i] = acc;
        }
        return out;
    }

    private static void assertCloseTo(float[] actual, double[] expected, double tolerance) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("alphas_cumprod[%d]", i).isCloseTo(expected[i], within(tolerance));
        }
    }

    @Test
    void linearBetasRiseEvenlyFromStartToEnd() {
        int n = 1000;
        double[] betas = new double[n];
        for (int i = 0; i < n; i++) betas[i] = 0.0001 + (0.02 - 0.0001) * i / (n - 1);
        assertCloseTo(new LcmScheduler(config("linear", n, false)).alphasCumprod(), cumprod(betas), 1e-5);
    }

    @Test
    void scaledLinearBetasAreSquaresOfALinearRampOfRoots() {
        int n = 1000;
        double[] betas = new double[n];
        double a = Math.sqrt(0.0001);
        double b = Math.sqrt(0.02);
        for (int i = 0; i < n; i++) {
            double r = a + (b - a) * i / (n - 1);
            betas[i] = r * r;
        }
        assertCloseTo(new LcmScheduler(config("scaled_linear", n, false)).alphasCumprod(), cumprod(betas), 1e-5);
    }

    @Test
    void squaredCosineBetasFollowTheCosineAlphaBar() {
        int n = 1000;
        double[] betas = new double[n];
        for (int i = 0; i < n; i++) {
            double t1 = Math.cos(((double) i / n + 0.008) / 1.008 * Math.PI / 2);
            double t2 = Math.cos(((double) (i + 1) / n + 0.008) / 1.008 * Math.PI / 2);
            betas[i] = Math.min(1 - (t2 * t2) / (t1 * t1), 0.999);
        }
        assertThat(betas[n - 1]).as("the last beta is clipped").isEqualTo(0.999);
        assertCloseTo(new LcmScheduler(config("squaredcos_cap_v2", n, false)).alphasCumprod(), cumprod(betas), 1e-5);
    }

    @Test
    void zeroTerminalSnrRescalingEndsAtPureNoiseAndKeepsTheFirstStep() {
        int n = 1000;
        float[] plain = new LcmScheduler(config("scaled_linear", n, false)).alphasCumprod();
        float[] rescaled = new LcmScheduler(config("scaled_linear", n, true)).alphasCumprod();
        assertThat(rescaled[n - 1]).as("zero terminal SNR").isZero();
        assertThat((double) rescaled[0]).isCloseTo(plain[0], within(1e-6));
        // sqrt(alpha_bar) is shifted so the last is 0 and scaled so the first is unchanged
        double first = Math.sqrt(plain[0]);
        double last = Math.sqrt(plain[n - 1]);
        double[] expected = new double[n];
        for (int i = 0; i < n; i++) {
            double v = (Math.sqrt(plain[i]) - last) * first / (first - last);
            expected[i] = v * v;
        }
        assertCloseTo(rescaled, expected, 1e-5);
    }

    @Test
    void trainedBetasMustCoverEveryTimestep() {
        SchedulerConfig c = new SchedulerConfig(4, 0, 0, "linear", new double[] {0.1, 0.2}, 4, 10, false);
        assertThatThrownBy(() -> new LcmScheduler(c)).hasMessageContaining("trained_betas has 2 values")
                .hasMessageContaining("num_train_timesteps is 4");
    }

    @Test
    void anUnknownScheduleIsAnErrorThatListsTheKnownOnes() {
        assertThatThrownBy(() -> new LcmScheduler(config("cosine", 10, false)))
                .hasMessageContaining("'cosine'").hasMessageContaining("linear, scaled_linear or squaredcos_cap_v2");
    }

    @Test
    void torchLinspaceHitsBothEndsAndStepsEvenly() {
        for (int steps : new int[] {2, 3, 15, 16, 17, 31, 32, 33, 100, 1000}) {
            float[] v = LcmScheduler.torchLinspace(-1.5f, 2.5f, steps);
            assertThat(v).hasSize(steps);
            assertThat(v[0]).as("first of %d", steps).isEqualTo(-1.5f);
            assertThat(v[steps - 1]).as("last of %d", steps).isEqualTo(2.5f);
            for (int i = 0; i < steps; i++) {
                assertThat((double) v[i]).as("value %d of %d", i, steps)
                        .isCloseTo(-1.5 + 4.0 * i / (steps - 1), within(1e-6));
            }
        }
        assertThat(LcmScheduler.torchLinspace(0.25f, 9f, 1)).containsExactly(0.25f);
    }

    @Test
    void timestepScalingSetsTheBoundaryCondition() {
        LcmScheduler s = new LcmScheduler(new SchedulerConfig(1000, 0.00085, 0.012, "scaled_linear", null, 50, 0.01, false));
        for (int t : new int[] {0, 19, 99, 359, 999}) {
            double tau = 0.01 * t;
            assertThat((double) s.cSkip(t)).as("c_skip(%d)", t).isCloseTo(0.25 / (tau * tau + 0.25), within(1e-6));
            assertThat((double) s.cOut(t)).as("c_out(%d)", t).isCloseTo(tau / Math.sqrt(tau * tau + 0.25), within(1e-6));
            double abar = s.alphaCumprod(t);
            assertThat((double) s.alphaProdSqrt(t)).isCloseTo(Math.sqrt(abar), within(1e-7));
            assertThat((double) s.betaProdSqrt(t)).isCloseTo(Math.sqrt(1 - abar), within(1e-7));
        }
        assertThat(s.cSkip(0)).as("at t = 0 the model output is ignored").isEqualTo(1f);
        assertThat(s.cOut(0)).isZero();
    }

    @Test
    void timestepsForAnotherTrainingLength() {
        // 500 training steps, 25 original steps: k = 20, origin = 499, 479, ..., 19
        LcmScheduler s = new LcmScheduler(new SchedulerConfig(500, 0.00085, 0.012, "scaled_linear", null, 25, 10, false));
        assertThat(s.timesteps(25)).hasSize(25).startsWith(499, 479).endsWith(19);
        assertThat(s.timesteps(5)).containsExactly(499, 399, 299, 199, 99);
        assertThat(s.config().numTrainTimesteps()).isEqualTo(500);
        assertThat(s.toString()).contains("scaled_linear").contains("500");
    }

    @Test
    void coefficientsDescribeTheirSteps() {
        LcmScheduler s = new LcmScheduler(SchedulerConfig.SD_DEFAULT);
        LcmCoefficients c = LcmCoefficients.compute(s, 50, new int[] {32, 45});
        assertThat(c.steps()).isEqualTo(2);
        assertThat(c.tIndexList()).containsExactly(32, 45);
        assertThat(c.timestepSchedule()).hasSize(50);
        assertThat(c.toString()).contains("[32, 45]").contains("[359, 99]");
        assertThatThrownBy(() -> LcmCoefficients.compute(s, 50, new int[0])).hasMessageContaining("must not be empty");
        assertThatThrownBy(() -> LcmCoefficients.compute(s, 50, new int[] {-1})).hasMessageContaining("entry -1")
                .hasMessageContaining("[0, 49]");
        assertThat(LcmCoefficients.compute(s, 50, new int[] {49}).timesteps()).containsExactly(19);
    }
}
