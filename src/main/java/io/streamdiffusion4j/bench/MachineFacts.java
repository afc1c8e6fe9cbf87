package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.onnx.OrtRuntime;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a benchmark result must say about the machine it ran on. */
public final class MachineFacts {
    private MachineFacts() {}

    /** CPU, cores, memory, OS, JVM and ONNX Runtime version (call after the ONNX Runtime environment is set up). */
    public static Map<String, String> collect() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("cpu", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores visible to the JVM");
        long mem = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getTotalMemorySize() : -1;
        f.put("memory", mem > 0 ? String.format(java.util.Locale.ROOT, "%.1f GiB", mem / (double) (1L << 30)) : "unknown");
        f.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        f.put("jvm", System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " " + Runtime.version());
        f.put("onnx runtime", OrtRuntime.version());
        f.put("load average at start (1, 5, 15 min)", loadAverage());
        return f;
    }

    /**
     * The 1, 5 and 15 minute load averages of /proc/loadavg, or "unknown" off Linux: a figure
     * measured on a shared machine means little without what else was running.
     */
    public static String loadAverage() {
        Path loadavg = Path.of("/proc/loadavg");
        if (!Files.isReadable(loadavg)) return "unknown";
        try {
            String[] parts = Files.readString(loadavg).trim().split("\\s+");
            return parts.length >= 3 ? parts[0] + " " + parts[1] + " " + parts[2] : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        Path info = Path.of("/proc/cpuinfo");
        if (Files.isReadable(info)) {
            try {
                for (String line : Files.readAllLines(info)) {
                    if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
                }
            } catch (IOException ignored) {
                // fall through to the architecture
            }
        }
        return System.getProperty("os.arch");
    }
}
