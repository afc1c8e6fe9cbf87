package io.streamdiffusion4j.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LcmSchedulerTest {
    private final LcmScheduler scheduler = new LcmScheduler(SchedulerConfig.SD_DEFAULT);

    @Test
    void alphasCumprodMatchTorchBitForBit() throws Exception {
        float[] expected = Npy.readFloats(Fixtures.tensor("alphas_cumprod")).data();
        float[] actual = scheduler.alphasCumprod();
        assertThat(actual).hasSize(1000);
        for (int i = 0; i < 1000; i++) {
            assertThat(Float.floatToIntBits(actual[i])).as("alphas_cumprod[%d]", i).isEqualTo(Float.floatToIntBits(expected[i]));
        }
    }

    @Test
    void fiftyStepsAre999Minus20i() throws Exception {
        int[] expected = IntStream.range(0, 50).map(i -> 999 - 20 * i).toArray();
        assertThat(scheduler.timesteps(50)).containsExactly(expected);
        long[] fixture = Npy.readLongs(Fixtures.tensor("timesteps"));
        assertThat(IntStream.of(scheduler.timesteps(50)).asLongStream().toArray()).containsExactly(fixture);
    }

    @Test
    void fewerStepsPickEvenlySpacedIndices() {
        // floor(linspace(0, 50, n, endpoint=False)) into [999, 979, ..., 19]
        assertThat(scheduler.timesteps(4)).containsExactly(999, 759, 499, 259);
        assertThat(scheduler.timesteps(1)).containsExactly(999);
        assertThat(scheduler.timesteps(3)).containsExactly(999, 679, 339);
        assertThat(scheduler.timesteps(25)[1]).isEqualTo(959);
    }

    @Test
    void moreStepsThanTheLcmScheduleIsAnError() {
        assertThatThrownBy(() -> scheduler.timesteps(51)).hasMessageContaining("num_inference_steps")
                .hasMessageContaining("50");
        assertThatThrownBy(() -> scheduler.timesteps(0)).hasMessageContaining("at least 1");
    }

    /** The research notes' table (torch 1.13 CPU float32). */
    @ParameterizedTest
    @CsvSource({
            "0, 999, 0.004660096, 0.068264894, 0.99766725",
            "16, 679, 0.095983855, 0.30981261, 0.95079762",
            "22, 559, 0.20367236, 0.45130074, 0.89237195",
            "32, 359, 0.49150017, 0.70107073, 0.71309179",
            "35, 299, 0.59218287, 0.76953417, 0.63860559",
            "40, 199, 0.75523806, 0.86904436, 0.49473423",
            "45, 99, 0.89546245, 0.94628876, 0.32332265"})
    void coefficientsMatchTheResearchTable(int tIndex, int t, double alphaBar, double a, double s) {
        LcmCoefficients c = LcmCoefficients.compute(scheduler, 50, new int[] {tIndex});
        assertThat(c.timesteps()[0]).isEqualTo(t);
        assertThat((double) scheduler.alphaCumprod(t)).isCloseTo(alphaBar, within(1e-8));
        assertThat((double) c.alphaProdSqrt()[0]).isCloseTo(a, within(1e-7));
        assertThat((double) c.betaProdSqrt()[0]).isCloseTo(s, within(1e-7));
        double tau = 10.0 * t;
        assertThat((double) c.cSkip()[0]).isCloseTo(0.25 / (tau * tau + 0.25), within(1e-12));
        assertThat((double) c.cOut()[0]).isCloseTo(tau / Math.sqrt(tau * tau + 0.25), within(1e-7));
    }

    @Test
    void boundaryScalingsMatchTheReferenceRunExactly() throws Exception {
        LcmCoefficients c = LcmCoefficients.compute(scheduler, 50, new int[] {32, 45});
        assertThat(c.timesteps()).containsExactly(359, 99);
        assertThat(c.cSkip()).containsExactly(Npy.readFloats(Fixtures.tensor("c_skip")).data());
        assertThat(c.cOut()).containsExactly(Npy.readFloats(Fixtures.tensor("c_out")).data());
        assertThat(c.alphaProdSqrt()).containsExactly(Npy.readFloats(Fixtures.tensor("alpha_prod_t_sqrt")).data());
        assertThat(c.betaProdSqrt()).containsExactly(Npy.readFloats(Fixtures.tensor("beta_prod_t_sqrt")).data());
    }

    @Test
    void tIndexBeyondTheScheduleIsAnError() {
        assertThatThrownBy(() -> LcmCoefficients.compute(scheduler, 4, new int[] {0, 4}))
                .hasMessageContaining("t_index_list entry 4").hasMessageContaining("[0, 3]");
    }

    @Test
    void readsTheSchedulerConfigOfAModelFolder() throws Exception {
        SchedulerConfig c = SchedulerConfig.read(Fixtures.onnxModel().resolve("scheduler/scheduler_config.json"));
        assertThat(c.betaSchedule()).isEqualTo("scaled_linear");
        assertThat(c.numTrainTimesteps()).isEqualTo(1000);
        assertThat(c.originalInferenceSteps()).as("LCM default").isEqualTo(50);
        assertThat(c.timestepScaling()).as("LCM default").isEqualTo(10.0);
    }
}
