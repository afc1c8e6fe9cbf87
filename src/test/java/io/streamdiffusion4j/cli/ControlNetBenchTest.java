package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A smoke test of {@code bench --experiments controlnet} on the tiny model with the ControlNet-shaped
 * stand-ins: the four arms run alternated and are reported, and the experiment asks for a
 * ControlNet. It checks that the command works, not how fast anything is.
 */
class ControlNetBenchTest {
    private static CliTest.Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliTest.Result(code, out.toString(), err.toString());
    }

    @Test
    void comparesOneControlNetWithThePlainStream(@TempDir Path dir) throws Exception {
        // the real preset for the built-in tiny model: converted on first use, the UNet with residual inputs made from tiny's
        CliTest.Result created = run("models", "create", "--config", "tiny-controlnet", "--to", dir.resolve("cn").toString());
        assertThat(created.exitCode()).as(created.err()).isZero();
        Path out = dir.resolve("out");
        CliTest.Result r = run("bench", "--model", "tiny", "--config", "examples/img2img.json", "--size", "64x64",
                "--frames", "2", "--warmup", "1", "--compare-frames", "2", "--experiments", "controlnet",
                "--controlnet", dir.resolve("cn").toString(), "--optimized-model-cache", "false", "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("One ControlNet per frame");
        JsonNode arms = new ObjectMapper().readTree(Files.readString(out.resolve("bench.json"))).get("comparisons").get(0).get("arms");
        assertThat(arms.get(0).get("name").asText()).isEqualTo("plain stream");
        assertThat(arms.get(2).get("name").asText()).isEqualTo("residual inputs, ControlNet at 0");
        assertThat(arms.get(3).get("name").asText()).isEqualTo("one ControlNet at 1");
        CliTest.Result missing = run("bench", "--model", "tiny", "--config", "examples/img2img.json", "--experiments", "controlnet");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("give exactly one --controlnet");
    }
}
