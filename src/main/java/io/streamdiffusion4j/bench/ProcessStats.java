package io.streamdiffusion4j.bench;

import java.lang.management.ManagementFactory;

/** Bytes allocated by a thread (the process's resident memory is engine.ProcessMemory). */
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
}
