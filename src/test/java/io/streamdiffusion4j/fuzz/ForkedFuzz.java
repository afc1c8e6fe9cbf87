package io.streamdiffusion4j.fuzz;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a target in a child JVM (native decoders can end a JVM with SIGSEGV or abort; that must
 * fail one test, not kill the test run). A child that dies is reported with its exit status,
 * the input it was on (kept under the target's output folder) and the problematic frame from the
 * JVM's fatal-error log. Memory is capped in the child (heap and direct/native-segment memory),
 * so an input that makes the decoder allocate beyond it fails with OutOfMemoryError there.
 */
final class ForkedFuzz {
    private ForkedFuzz() {}

    static FuzzReport run(FuzzTarget target, FuzzSettings settings) throws IOException, InterruptedException {
        Path dir = settings.out().resolve(target.name()).toAbsolutePath();
        Files.createDirectories(dir);
        try (Stream<Path> old = Files.list(dir)) {
            for (Path p : old.filter(p -> p.getFileName().toString().startsWith("hs_err")).toList()) Files.delete(p);
        }
        Path log = dir.resolve("child.log");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "--enable-native-access=ALL-UNNAMED",
                "-Xmx768m", "-XX:MaxDirectMemorySize=768m", "-XX:+UseSerialGC", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log")));
        for (String p : new String[] {"fixtures.dir", "streamdiffusion4j.turbojpeg"}) {
            if (System.getProperty(p) != null) cmd.add("-D" + p + "=" + System.getProperty(p));
        }
        cmd.addAll(List.of(settings.asJvmOptions()));
        cmd.add(FuzzChild.class.getName());
        cmd.add(target.name());
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        FuzzRunner.Budget budget = settings.budget(target);
        long waitSeconds = (long) (budget.seconds() > 0 ? budget.seconds() : 0) + 120 + budget.timeoutMillis() / 1000;
        if (!child.waitFor(waitSeconds, TimeUnit.SECONDS)) {
            child.destroyForcibly().waitFor();
            return died(target, dir, "the child JVM did not finish within " + waitSeconds + " s (a hang in native code,"
                    + " or a crash handler that hangs) and was killed", settings);
        }
        List<String> lines = Files.readAllLines(log);
        for (String line : lines.reversed()) {
            if (line.startsWith(FuzzChild.REPORT_PREFIX)) {
                return new ObjectMapper().readValue(line.substring(FuzzChild.REPORT_PREFIX.length()), FuzzReport.class);
            }
        }
        int code = child.exitValue();
        String how = code > 128 ? "was killed by signal " + (code - 128) + signalName(code - 128) : "exited with status " + code;
        return died(target, dir, "the child JVM " + how + " without a report" + problematicFrame(dir), settings);
    }

    /** A report with one crash, naming and keeping the input the child was on. */
    private static FuzzReport died(FuzzTarget target, Path dir, String what, FuzzSettings settings) throws IOException {
        Path current = dir.resolve(FuzzChild.CURRENT_INPUT);
        String saved = "(no input recorded)";
        String detail = what;
        if (Files.isRegularFile(current)) {
            byte[] input = Files.readAllBytes(current);
            Path keep = dir.resolve("crash-" + FuzzRunner.sha1(input).substring(0, 12) + ".bin");
            Files.write(keep, input);
            saved = keep.toString();
            detail += "; the input it was on (" + input.length + " bytes) is saved as " + saved;
        }
        detail += "; child output in " + dir.resolve("child.log");
        return new FuzzReport(target.name(), settings.seed(), 0, 0, 0, 0, 0, 0, 0,
                List.of(new FuzzReport.Failure("crash", "JVM crash", detail, saved, 1)));
    }

    private static String problematicFrame(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith("hs_err")).toList()) {
                StringBuilder sb = new StringBuilder("; fatal error log " + p + ":");
                for (String line : Files.readAllLines(p)) {
                    if (line.startsWith("# SIG") || line.startsWith("#  SIG") || line.startsWith("# Problematic frame")
                            || line.startsWith("# C  [") || line.startsWith("# J ") || line.startsWith("# V  [")) {
                        sb.append(' ').append(line.substring(1).strip());
                    }
                }
                return sb.toString();
            }
        }
        return "";
    }

    private static String signalName(int signal) {
        return switch (signal) {
            case 6 -> " (SIGABRT: the JVM's fatal-error handler, usually after a native crash)";
            case 9 -> " (SIGKILL)";
            case 11 -> " (SIGSEGV)";
            default -> "";
        };
    }
}
