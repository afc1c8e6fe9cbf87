package io.streamdiffusion4j.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The part of a diffusers {@code scheduler_config.json} that the LCM scheduler reads. Like
 * {@code LCMScheduler.from_config(pipe.scheduler.config)} in the original, keys the model's
 * scheduler does not have take the LCM defaults ({@code original_inference_steps = 50},
 * {@code timestep_scaling = 10.0}); keys LCM does not know are ignored.
 */
public record SchedulerConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        String betaSchedule,
        double[] trainedBetas,
        int originalInferenceSteps,
        double timestepScaling,
        boolean rescaleBetasZeroSnr) {

    public static final SchedulerConfig SD_DEFAULT =
            new SchedulerConfig(1000, 0.00085, 0.012, "scaled_linear", null, 50, 10.0, false);

    public SchedulerConfig {
        if (numTrainTimesteps < 1) throw new IllegalArgumentException("num_train_timesteps must be >= 1");
        if (originalInferenceSteps < 1 || originalInferenceSteps > numTrainTimesteps) {
            throw new IllegalArgumentException("original_inference_steps must be in [1, num_train_timesteps]");
        }
    }

    public static SchedulerConfig read(Path file) throws IOException {
        JsonNode root = InputFiles.jsonObject(file, "scheduler configuration");
        SchedulerConfig d = SD_DEFAULT;
        double[] trained = null;
        JsonNode tb = root.get("trained_betas");
        if (tb != null && tb.isArray()) {
            trained = new double[tb.size()];
            for (int i = 0; i < trained.length; i++) trained[i] = tb.get(i).asDouble();
        }
        try {
            return new SchedulerConfig(
                    intValue(root, "num_train_timesteps", d.numTrainTimesteps(), file),
                    doubleValue(root, "beta_start", d.betaStart(), file),
                    doubleValue(root, "beta_end", d.betaEnd(), file),
                    root.hasNonNull("beta_schedule") ? root.get("beta_schedule").asText() : d.betaSchedule(),
                    trained,
                    intValue(root, "original_inference_steps", d.originalInferenceSteps(), file),
                    doubleValue(root, "timestep_scaling", d.timestepScaling(), file),
                    root.path("rescale_betas_zero_snr").asBoolean(false));
        } catch (IllegalArgumentException e) {
            throw new InputFileException(file + ": " + e.getMessage(), e);
        }
    }

    private static int intValue(JsonNode root, String key, int dflt, Path file) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new InputFileException(file + ": '" + key + "' must be an integer, found " + v);
        }
        return v.intValue();
    }

    private static double doubleValue(JsonNode root, String key, double dflt, Path file) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw new InputFileException(file + ": '" + key + "' must be a number, found " + v);
        return v.doubleValue();
    }
}
