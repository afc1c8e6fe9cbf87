package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A smoke test of the bench command on the built-in tiny model with two frames: it runs every
 * experiment and writes its report. It checks that the command works, not how fast anything is
 * (speed is measured with the command itself, see docs/PERFORMANCE.md).
 */
class BenchCommandTest {
    private static CliTest.Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliTest.Result(code, out.toString(), err.toString());
    }

    @Test
    void runsEveryExperimentOnTheTinyModel(@TempDir Path out) throws Exception {
        CliTest.Result r = run("bench", "--model", "tiny", "--config", "examples/img2img.json", "--size", "64x64",
                "--frames", "2", "--warmup", "1", "--compare-frames", "2", "--rcfg-steps", "5", "--filter-frames", "3",
                "--optimized-model-cache", "false", "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("The configured stream (stream, static shapes)").contains("Stream Batch against the sequential loop")
                .contains("RCFG").contains("Static against dynamic shapes").contains("Stochastic Similarity Filter")
                .contains("Naive per-frame img2img").contains("int8 against float32").contains("too few frames for a verdict");
        JsonNode json = new ObjectMapper().readTree(Files.readString(out.resolve("bench.json")));
        JsonNode main = json.get("pipeline").get("the_configured_stream_stream_static_shapes");
        assertThat(main.get("run").get("frames").asInt()).isEqualTo(2);
        assertThat(main.get("run").get("unet_rows_per_frame").asDouble()).isEqualTo(2.0);
        assertThat(main.get("pipeline_over_raw_model_calls").asDouble()).isPositive();
        JsonNode comparisons = json.get("comparisons");
        assertThat(comparisons.size()).as("static shapes, stream batch n = 1, 2, 4, RCFG n = 5, precompute, int8, sessions 1, 2, 4")
                .isEqualTo(10);
        JsonNode precompute = comparisons.get(5).get("arms");
        assertThat(precompute.get(0).get("name").asText()).isEqualTo("pre-computed conditioning");
        assertThat(precompute.get(2).get("name").asText()).isEqualTo("conditioning every frame");
        JsonNode difference = json.get("precompute_output_difference");
        assertThat(difference.get("precomputed_values").asInt()).as("the tiny preset's K/V and time projections").isGreaterThanOrEqualTo(54);
        assertThat(difference.get("largest_abs_difference").asDouble()).isLessThanOrEqualTo(1e-5);
        JsonNode int8 = comparisons.get(6).get("arms");
        // the tiny model decodes with its TAESD: the int8 UNet alone, then with the int8 TAESD
        assertThat(int8.get(2).get("name").asText()).isEqualTo("int8 UNet, float32 TAESD");
        assertThat(int8.get(3).get("name").asText()).isEqualTo("int8 UNet and TAESD");
        // the float control is the same stream again: identical frames; the int8 arms' PSNRs are numbers
        JsonNode quality = json.get("quality").get("int8_against_float32");
        assertThat(quality.get("float32_control").get("min_db").asText()).isEqualTo("Infinity");
        assertThat(quality.get("int8_unet_float32_taesd").get("frames").asInt()).isEqualTo(3);
        assertThat(quality.get("int8_unet_and_taesd").get("frames").asInt()).isEqualTo(3);
        assertThat(quality.get("int8_unet_and_taesd").get("min_db").asDouble()).isFinite();
        JsonNode rcfg = comparisons.get(4).get("arms");
        assertThat(rcfg.get(0).get("name").asText()).isEqualTo("cfg self");
        assertThat(rcfg.get(1).get("role").asText()).isEqualTo("control");
        assertThat(rcfg.get(4).get("name").asText()).isEqualTo("cfg full");
        assertThat(rcfg.get(4).get("unet_rows_per_frame").asDouble()).isEqualTo(10.0);
        assertThat(rcfg.get(3).get("unet_rows_per_frame").asDouble()).isEqualTo(6.0);
        JsonNode sequential4 = comparisons.get(3).get("arms").get(2);
        assertThat(sequential4.get("unet_calls_per_frame").asDouble()).isEqualTo(4.0);
        assertThat(sequential4.get("frame_ratio").get("verdict").asText()).isEqualTo("too few frames for a verdict");
        assertThat(json.get("similarity_filter").get("still_input").get("skipped").asInt()).isPositive();
        assertThat(json.get("naive_baseline").get("naive").get("unet_rows_per_frame").asDouble()).isEqualTo(4.0);
        assertThat(Files.readString(out.resolve("bench.md"))).contains("| frames/s |");
    }

    /**
     * The sessions experiment: 1, 2 and 4 concurrent streams, batched against separate calls. With
     * a window far longer than a frame, every round's calls are stacked into one (the calls per
     * frame are counted at the model, not derived).
     */
    @Test
    void runsTheSessionsExperimentOnTheTinyModel(@TempDir Path out) throws Exception {
        CliTest.Result r = run("bench", "--model", "tiny", "--config", "examples/img2img.json", "--size", "64x64",
                "--warmup", "1", "--compare-frames", "3", "--experiments", "sessions", "--gather-window-ms", "1000",
                "--optimized-model-cache", "false", "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("4 concurrent session(s): batched against separate UNet calls")
                .contains("| frames/s total | frames/s per session | latency p50 | p95 | UNet calls/frame");
        JsonNode json = new ObjectMapper().readTree(Files.readString(out.resolve("bench.json")));
        JsonNode comparisons = json.get("comparisons");
        assertThat(comparisons.size()).isEqualTo(3);
        for (int i = 0; i < 3; i++) {
            int k = new int[] {1, 2, 4}[i];
            JsonNode arms = comparisons.get(i).get("arms");
            assertThat(arms.get(0).get("name").asText()).isEqualTo(k + " separate");
            assertThat(arms.get(1).get("role").asText()).isEqualTo("control");
            assertThat(arms.get(2).get("name").asText()).isEqualTo(k + " batched");
            assertThat(arms.get(0).get("unet_calls_per_frame").asDouble()).as("a round: k separate calls").isEqualTo(k);
            assertThat(arms.get(2).get("unet_calls_per_frame").asDouble()).as("a round: one stacked call").isEqualTo(1.0);
            JsonNode rows = json.get("sessions").get(k + "_sessions");
            assertThat(rows.size()).isEqualTo(3);
            assertThat(rows.get(0).get("unet_model_calls_per_frame").asDouble()).isEqualTo(1.0);
            assertThat(rows.get(2).get("unet_model_calls_per_frame").asDouble()).isEqualTo(1.0 / k);
            assertThat(rows.get(2).get("sessions_per_unet_call").asDouble()).isEqualTo(k);
            assertThat(rows.get(2).get("gather_windows_passed").asInt()).isZero();
            assertThat(rows.get(2).get("frames_per_second_total").asDouble()).isPositive();
            assertThat(rows.get(2).get("latency_ms").get("count").asInt()).isEqualTo(3 * k);
        }
    }

    @Test
    void badSizesAndMissingProvidersAreClearErrors() {
        CliTest.Result size = run("bench", "--model", "tiny", "--size", "64by64");
        assertThat(size.exitCode()).isEqualTo(2);
        assertThat(size.err()).contains("--size must be WIDTHxHEIGHT").contains("'64by64'");

        CliTest.Result experiments = run("bench", "--model", "tiny", "--experiments", "pipeline,warp");
        assertThat(experiments.exitCode()).isEqualTo(2);
        assertThat(experiments.err()).contains("unknown experiment 'warp'");

        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            CliTest.Result cuda = run("bench", "--model", "tiny", "--config", "examples/img2img.json", "--size", "64x64",
                    "--experiments", "pipeline", "--device", "cuda");
            assertThat(cuda.exitCode()).isEqualTo(1);
            assertThat(cuda.err()).contains("cuda was asked for").contains("-Pcuda");
        }
    }
}
