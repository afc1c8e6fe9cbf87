package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt and seed blending from the command line, end to end on the built-in tiny model: a blend of
 * two prompts gives frames unlike either prompt alone, a one-entry blend gives exactly the
 * single prompt's frames, and bad blend options are input errors (exit 2) that name the option.
 */
class PromptBlendCliTest {
    private static final String A = "a watercolor painting of a sunny meadow";
    private static final String B = "a neon city street at night";

    private static CliTest.Result img2img(Path frames, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("img2img", "--model", "tiny", "--config", "examples/img2img.json",
                "--width", "64", "--height", "64", "--input", frames.toString(), "--output", out.toString()));
        a.addAll(List.of(extra));
        return CliTest.run(a.toArray(String[]::new));
    }

    private static List<byte[]> outputs(Path dir) throws Exception {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) out.add(Files.readAllBytes(dir.resolve(String.format("%03d.png", i))));
        return out;
    }

    private static boolean same(List<byte[]> a, List<byte[]> b) {
        for (int i = 0; i < a.size(); i++) if (!Arrays.equals(a.get(i), b.get(i))) return false;
        return true;
    }

    @Test
    void aTwoPromptBlendDiffersFromEachPromptAndAOneEntryBlendIsThePrompt(@TempDir Path dir) throws Exception {
        Path frames = Files.createDirectories(dir.resolve("frames"));
        for (int i = 0; i < 3; i++) {
            Files.copy(Path.of("examples/frames", String.format("%03d.png", i)), frames.resolve(String.format("%03d.png", i)));
        }
        String[][] runs = {
                {"--prompt", A}, {"--prompt", B},
                {"--prompt-blend", A + ":0.5", "--prompt-blend", B + ":0.5", "--interpolation", "slerp",
                        "--seed-blend", "2:0.5", "--seed-blend", "7:0.5"},
                {"--prompt-blend", A}, {"--prompt", A, "--seed-blend", "2:3"}};
        List<List<byte[]>> results = new ArrayList<>();
        for (int r = 0; r < runs.length; r++) {
            Path out = dir.resolve("out" + r);
            CliTest.Result res = img2img(frames, out, runs[r]);
            assertThat(res.exitCode()).as(res.err()).isZero();
            results.add(outputs(out));
        }
        assertThat(same(results.get(0), results.get(1))).as("the two prompts give different frames").isFalse();
        assertThat(same(results.get(2), results.get(0))).as("the blend differs from the first prompt").isFalse();
        assertThat(same(results.get(2), results.get(1))).as("the blend differs from the second prompt").isFalse();
        assertThat(same(results.get(3), results.get(0))).as("a one-entry prompt blend is the prompt").isTrue();
        assertThat(same(results.get(4), results.get(0))).as("a one-entry seed blend is the seed").isTrue();
    }

    @Test
    void badBlendOptionsAreInputErrorsNamingTheOption(@TempDir Path dir) {
        CliTest.Result both = img2img(dir, dir.resolve("o"), "--prompt", "x", "--prompt-blend", "y:1");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("give --prompt or --prompt-blend, not both");
        CliTest.Result weight = img2img(dir, dir.resolve("o"), "--prompt-blend", "a cat:-2");
        assertThat(weight.exitCode()).isEqualTo(2);
        assertThat(weight.err()).contains("--prompt-blend: prompt blend entry 'a cat:-2'");
        CliTest.Result seed = img2img(dir, dir.resolve("o"), "--seed-blend", "two:1");
        assertThat(seed.exitCode()).isEqualTo(2);
        assertThat(seed.err()).contains("--seed-blend");
        CliTest.Result interp = img2img(dir, dir.resolve("o"), "--interpolation", "cubic");
        assertThat(interp.exitCode()).isEqualTo(2);
        assertThat(interp.err()).contains("interpolation must be \"linear\" or \"slerp\"");
    }
}
