package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.testing.ChildJvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM before a command has its own stop handler (while the built-in model is created and its
 * ONNX Runtime sessions are opened): the process ends at once with 143 and says so, instead of
 * running ONNX Runtime's shutdown hook under a session being created (a SIGSEGV and a crash
 * report, seen with `run` 30 s into loading on a loaded machine).
 */
class StopWhileLoadingTest {

    @Test
    void sigtermWhileTheModelLoadsEndsTheProcessWith143AndNoCrashReport(@TempDir Path dir) throws Exception {
        Path crashes = dir.resolve("crashes");
        Path log = dir.resolve("out.log");
        // a fresh cache: the built-in model is created and converted first, so loading takes seconds
        Process p = ChildJvm.command(crashes, List.of("-Dstreamdiffusion4j.cache=" + dir.resolve("cache")),
                        "io.streamdiffusion4j.cli.Main", "img2img", "--model", "tiny", "--config", "examples/img2img.json",
                        "--input", "examples/frames", "--output", dir.resolve("out").toString())
                .redirectOutput(log.toFile()).start();
        // wait until the command is at work (it prints the model preparation's progress), then stop it
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (p.isAlive() && Files.readString(log, StandardCharsets.UTF_8).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(p.isAlive()).as("still loading when the signal is sent: " + Files.readString(log)).isTrue();
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        p.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(ended).as(out).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(143);
        assertThat(out).contains("stopped (SIGTERM)").doesNotContain("SIGSEGV");
        if (Files.isDirectory(crashes)) {
            try (Stream<Path> reports = Files.list(crashes)) {
                assertThat(reports).as("no crash report").isEmpty();
            }
        }
    }
}
