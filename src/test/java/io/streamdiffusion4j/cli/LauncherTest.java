package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.testing.ChildJvm;
import io.streamdiffusion4j.testing.NativeCrash;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./streamdiffusion4j} launcher and its JVM options (bin/jvm-options.sh, the one list):
 * a native crash ends the process within a bound, so that a supervisor can restart it (issue 10,
 * item 12: a crashed server once hung for over 75 s in HotSpot's error reporting, holding its port).
 */
class LauncherTest {
    /** The bound: the options cap error reporting at 10 s; HotSpot's default is 120 s. */
    private static final int BOUND_SECONDS = 30;

    @Test
    void theLauncherStartsJavaWithTheOneListOfOptions(@TempDir Path dir) throws Exception {
        // the launcher and its scripts in a folder of their own, a jar newer than any source (no build),
        // and a stand-in JDK 25 whose java prints its arguments
        Path app = dir.resolve("app");
        Files.createDirectories(app.resolve("bin"));
        Files.createDirectories(app.resolve("target"));
        for (String f : List.of("streamdiffusion4j", "bin/jdk25.sh", "bin/jvm-options.sh")) {
            Files.copy(Path.of(f), app.resolve(f));
        }
        Files.createFile(app.resolve("target/streamdiffusion4j.jar"));
        Path jdk = dir.resolve("jdk");
        Files.createDirectories(jdk.resolve("bin"));
        Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"25\"\n");
        executable(jdk.resolve("bin/java"), "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        executable(jdk.resolve("bin/javac"), "#!/bin/sh\nexit 0\n");
        Path crashes = dir.resolve("crashes");

        ProcessBuilder pb = new ProcessBuilder("bash", app.resolve("streamdiffusion4j").toString(), "--version");
        pb.environment().put("JAVA_HOME", jdk.toString());
        pb.environment().put("STREAMDIFFUSION4J_CRASH_DIR", crashes.toString());
        pb.environment().remove("STREAMDIFFUSION4J_JAVA_OPTS");
        Process p = pb.redirectErrorStream(true).start();
        List<String> args = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

        List<String> expected = new ArrayList<>(ChildJvm.launcherOptions(crashes));
        expected.addAll(List.of("-jar", app.resolve("target/streamdiffusion4j.jar").toString(), "--version"));
        assertThat(args).isEqualTo(expected);
        assertThat(expected).contains("-XX:-CreateCoredumpOnCrash").anyMatch(o -> o.startsWith("-XX:ErrorLogTimeout="))
                .contains("-XX:ErrorFile=" + crashes.resolve("hs_err_pid%p.log"));
    }

    @Test
    void aNativeCrashEndsTheProcessWithinTheBoundAndReportsInTheCrashFolder(@TempDir Path dir) throws Exception {
        Path crashes = dir.resolve("crashes");
        Path work = Files.createDirectories(dir.resolve("work"));
        Path log = dir.resolve("out.log");
        Process p = ChildJvm.command(crashes, List.of(), NativeCrash.class.getName()).directory(work.toFile())
                .redirectOutput(log.toFile()).start();
        boolean ended = p.waitFor(BOUND_SECONDS, TimeUnit.SECONDS);
        p.destroyForcibly();
        String out = Files.readString(log);
        assertThat(ended).as(out).isTrue();
        assertThat(p.exitValue()).as(out).isNotZero();
        assertThat(out).contains("SIGSEGV").contains("no core file dumped").doesNotContain("still alive");
        assertThat(crashes.resolve("hs_err_pid" + p.pid() + ".log")).as(out).isRegularFile();
        try (Stream<Path> left = Files.list(work)) {
            assertThat(left).as("no report or core dump in the working folder").isEmpty();
        }
    }

    /** An error report that blocks (its file is a pipe nobody reads, as a stuck disk would) is cut short. */
    @Test
    void aCrashWhoseErrorReportHangsStillEndsTheProcessWithinTheBound(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("report.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0).as("mkfifo").isTrue();
        // a later -XX:ErrorFile overrides the launcher's; everything else is the launcher's list
        Path log = dir.resolve("out.log");
        Process p = ChildJvm.command(dir.resolve("crashes"), List.of("-XX:ErrorFile=" + fifo), NativeCrash.class.getName())
                .redirectOutput(log.toFile()).start();
        boolean ended = p.waitFor(BOUND_SECONDS, TimeUnit.SECONDS);
        p.destroyForcibly();
        String out = Files.readString(log);
        assertThat(ended).as(out).isTrue();
        assertThat(out).contains("SIGSEGV").contains("timer expired, abort");
        assertThat(p.exitValue()).isNotZero();
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
