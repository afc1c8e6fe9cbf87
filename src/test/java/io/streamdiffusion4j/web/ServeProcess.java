package io.streamdiffusion4j.web;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code serve} in its own JVM (as an operator runs it, so it can be sent SIGTERM), on the
 * test's classpath and model cache; stderr merged into a log file.
 */
final class ServeProcess implements AutoCloseable {
    private static final Pattern OPEN = Pattern.compile("serve: open http://127\\.0\\.0\\.1:(\\d+)/");

    final Process process;
    final Path log;
    final int port;

    private ServeProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /**
     * Starts {@code serve --port 0 ARGS} and returns once it says it is open (models loaded and
     * warmed up), with the port it bound.
     */
    static ServeProcess start(Path log, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dstreamdiffusion4j.cache=" + System.getProperty("streamdiffusion4j.cache"),
                "io.streamdiffusion4j.cli.Main", "serve", "--port", "0"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("DISPLAY");
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && p.isAlive()) {
            Matcher m = OPEN.matcher(Files.readString(log));
            if (m.find()) return new ServeProcess(p, log, Integer.parseInt(m.group(1)));
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new AssertionError("serve did not open within 120 s:\n" + Files.readString(log));
    }

    URI http(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** This instance's own numbers (asked of it directly, not through the proxy). */
    Scrape metrics() throws Exception {
        return Scrape.of(http("/metrics"));
    }

    String output() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
