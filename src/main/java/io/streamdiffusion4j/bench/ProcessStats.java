package io.streamdiffusion4j.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory facts of this process: peak resident set size and bytes allocated by a thread. */
final class ProcessStats {
    private static final com.sun.management.ThreadMXBean THREADS = threads();

    private ProcessStats() {}

    private static com.sun.management.ThreadMXBean threads() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                && t.isThreadAllocatedMemorySupported()) {
            t.setThreadAllocatedMemoryEnabled(true);
            return t;
        }
        return null;
    }

    /** Bytes this thread has allocated on the Java heap so far, or -1 where the JVM cannot tell. */
    static long allocatedBytes() {
        return THREADS == null ? -1 : THREADS.getCurrentThreadAllocatedBytes();
    }

    /** Peak resident set size (VmHWM of /proc/self/status: Java heap, native ONNX Runtime memory and all), or -1 off Linux. */
    static long peakRssBytes() {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return -1;
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
