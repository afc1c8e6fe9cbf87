package io.streamdiffusion4j.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model's scheduler_config.json: the keys LCM reads, LCM's defaults for the rest, and clear errors. */
class SchedulerConfigTest {
    @TempDir
    Path dir;

    private Path write(String json) throws IOException {
        Path p = dir.resolve("scheduler_config.json");
        Files.writeString(p, json);
        return p;
    }

    @Test
    void readsEveryKeyLcmUses() throws Exception {
        SchedulerConfig c = SchedulerConfig.read(write("""
                {"num_train_timesteps": 500, "beta_start": 0.001, "beta_end": 0.02, "beta_schedule": "linear",
                 "original_inference_steps": 25, "timestep_scaling": 5.5, "rescale_betas_zero_snr": true,
                 "prediction_type": "epsilon", "steps_offset": 1}"""));
        assertThat(c.numTrainTimesteps()).isEqualTo(500);
        assertThat(c.betaStart()).isEqualTo(0.001);
        assertThat(c.betaEnd()).isEqualTo(0.02);
        assertThat(c.betaSchedule()).isEqualTo("linear");
        assertThat(c.trainedBetas()).isNull();
        assertThat(c.originalInferenceSteps()).isEqualTo(25);
        assertThat(c.timestepScaling()).isEqualTo(5.5);
        assertThat(c.rescaleBetasZeroSnr()).isTrue();
    }

    @Test
    void missingAndNullKeysTakeTheDefaults() throws Exception {
        SchedulerConfig c = SchedulerConfig.read(write("{\"beta_schedule\": null, \"beta_end\": null, \"trained_betas\": null}"));
        SchedulerConfig d = SchedulerConfig.SD_DEFAULT;
        assertThat(c.numTrainTimesteps()).isEqualTo(d.numTrainTimesteps());
        assertThat(c.betaStart()).isEqualTo(d.betaStart());
        assertThat(c.betaEnd()).isEqualTo(d.betaEnd());
        assertThat(c.betaSchedule()).isEqualTo("scaled_linear");
        assertThat(c.trainedBetas()).isNull();
        assertThat(c.originalInferenceSteps()).isEqualTo(50);
        assertThat(c.timestepScaling()).isEqualTo(10.0);
        assertThat(c.rescaleBetasZeroSnr()).isFalse();
    }

    @Test
    void readsTrainedBetas() throws Exception {
        SchedulerConfig c = SchedulerConfig.read(write("{\"num_train_timesteps\": 3, \"original_inference_steps\": 3, "
                + "\"trained_betas\": [0.1, 0.2, 0.5]}"));
        assertThat(c.trainedBetas()).containsExactly(0.1, 0.2, 0.5);
        LcmScheduler s = new LcmScheduler(c);
        float[] cumprod = s.alphasCumprod();
        assertThat(cumprod).hasSize(3);
        assertThat(cumprod[0]).isCloseTo(0.9f, within(1e-7f));
        assertThat(cumprod[1]).isCloseTo(0.72f, within(1e-7f));
        assertThat(cumprod[2]).isCloseTo(0.36f, within(1e-7f));
    }

    @Test
    void badValuesAreErrorsThatNameTheFileAndKey() throws Exception {
        Path p = write("{\"num_train_timesteps\": 1000.5}");
        assertThatThrownBy(() -> SchedulerConfig.read(p)).isInstanceOf(IOException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("'num_train_timesteps' must be an integer");
        Path big = write("{\"original_inference_steps\": 10000000000}");
        assertThatThrownBy(() -> SchedulerConfig.read(big)).hasMessageContaining("'original_inference_steps' must be an integer");
        Path text = write("{\"beta_start\": \"small\"}");
        assertThatThrownBy(() -> SchedulerConfig.read(text)).hasMessageContaining("'beta_start' must be a number");
        Path zero = write("{\"num_train_timesteps\": 0}");
        assertThatThrownBy(() -> SchedulerConfig.read(zero)).isInstanceOf(IOException.class)
                .hasMessageContaining(zero.toString()).hasMessageContaining("num_train_timesteps must be >= 1");
        Path more = write("{\"num_train_timesteps\": 40}");
        assertThatThrownBy(() -> SchedulerConfig.read(more)).hasMessageContaining("original_inference_steps must be in");
        Path array = write("[1, 2]");
        assertThatThrownBy(() -> SchedulerConfig.read(array)).hasMessageContaining("expected a JSON object");
        Path empty = write("");
        assertThatThrownBy(() -> SchedulerConfig.read(empty)).hasMessageContaining("expected a JSON object");
    }

    @Test
    void aMissingFileSaysWhatWasMissing() {
        Path p = dir.resolve("nowhere.json");
        assertThatThrownBy(() -> SchedulerConfig.read(p)).isInstanceOf(InputFileException.class)
                .hasMessageContaining("nowhere.json").hasMessageContaining("scheduler configuration not found");
    }

    @Test
    void theConstructorChecksTheStepCounts() {
        assertThatThrownBy(() -> new SchedulerConfig(0, 0.1, 0.2, "linear", null, 1, 10, false))
                .hasMessageContaining("num_train_timesteps must be >= 1");
        assertThatThrownBy(() -> new SchedulerConfig(10, 0.1, 0.2, "linear", null, 0, 10, false))
                .hasMessageContaining("original_inference_steps");
        assertThatThrownBy(() -> new SchedulerConfig(10, 0.1, 0.2, "linear", null, 11, 10, false))
                .hasMessageContaining("original_inference_steps");
        assertThat(new SchedulerConfig(1, 0.1, 0.2, "linear", null, 1, 10, false).originalInferenceSteps()).isEqualTo(1);
        assertThat(new SchedulerConfig(10, 0.1, 0.2, "linear", null, 10, 10, false).originalInferenceSteps()).isEqualTo(10);
    }
}
