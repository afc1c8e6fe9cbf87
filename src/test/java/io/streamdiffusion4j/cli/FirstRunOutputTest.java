package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a newcomer sees on the README's main command with an empty cache: the model is created,
 * the optimised graphs are saved, and the output is the progress and the result, with no ONNX
 * Runtime warnings about the expected (machine-specific) optimised-model cache and no escape codes.
 */
class FirstRunOutputTest {

    @Test
    void readmeMainCommandOnAnEmptyCachePrintsNoWarnings(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dstreamdiffusion4j.cache=" + cache, "io.streamdiffusion4j.cli.Main",
                "img2img", "--model", "tiny", "--config", "examples/img2img.json", "--input", "examples/frames",
                "--output", dir.resolve("out").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(cache.resolve("optimized")).as("the optimised graphs were saved on this run").isNotEmptyDirectory();
        assertThat(out).contains("img2img: 8 frames")
                .doesNotContain("onnxruntime")
                .doesNotContain("Serializing optimized model")
                .doesNotContain("\u001b[");
        assertThat(dir.resolve("out/007.png")).exists();
    }
}
