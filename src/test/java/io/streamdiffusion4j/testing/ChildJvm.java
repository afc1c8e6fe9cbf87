package io.streamdiffusion4j.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A JVM started the way the launcher starts one for users, with its options from
 * {@code bin/jvm-options.sh} (the one list), on this test run's class path. Tests run what may
 * crash the process in one, so that a crash fails the test instead of killing the test JVM.
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** The launcher's JVM options, with crash reports going to {@code crashDir}. */
    public static List<String> launcherOptions(Path crashDir) throws IOException, InterruptedException {
        Path script = Path.of("bin", "jvm-options.sh").toAbsolutePath();
        if (!Files.isRegularFile(script)) throw new IllegalStateException("the launcher's JVM options are not at " + script);
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true);
        pb.environment().put("STREAMDIFFUSION4J_CRASH_DIR", crashDir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IllegalStateException(script + " failed: " + out);
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    /** {@code java}, the launcher's options, then {@code extraOptions}, the class path, the main class and its arguments. */
    public static ProcessBuilder command(Path crashDir, List<String> extraOptions, String mainClass, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(launcherOptions(crashDir));
        cmd.addAll(extraOptions);
        String cache = System.getProperty("streamdiffusion4j.cache");
        boolean ownCache = extraOptions.stream().anyMatch(o -> o.startsWith("-Dstreamdiffusion4j.cache="));
        if (cache != null && !ownCache) cmd.add("-Dstreamdiffusion4j.cache=" + cache);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true);
    }
}
