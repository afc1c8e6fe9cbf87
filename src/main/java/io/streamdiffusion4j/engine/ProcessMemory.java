package io.streamdiffusion4j.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory of this process from /proc/self/status: the Java heap, ONNX Runtime's native
 * memory and everything else, which the JVM's own memory beans do not see.
 */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {}

    /** Resident set size now (VmRSS), or -1 off Linux. */
    public static long rssBytes() {
        return field("VmRSS:");
    }

    /** Peak resident set size (VmHWM), or -1 off Linux. */
    public static long peakRssBytes() {
        return field("VmHWM:");
    }

    private static long field(String name) {
        if (!Files.isReadable(STATUS)) return -1;
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024; // the kernel writes kB
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
