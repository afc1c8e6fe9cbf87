package io.streamdiffusion4j.onnx;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the native tensors this project creates and has not closed yet. Every model input and
 * pinned output lives in a {@link DirectTensor}; ONNX Runtime's own results are closed where they
 * are read. A long run must come back to zero once its models are closed: tests and the engine's
 * shutdown check it.
 */
public final class NativeTensors {
    private static final AtomicLong OPEN = new AtomicLong();

    private NativeTensors() {}

    static void opened() {
        OPEN.incrementAndGet();
    }

    static void closed() {
        OPEN.decrementAndGet();
    }

    /** Native tensors created by this process and not closed yet. */
    public static long open() {
        return OPEN.get();
    }
}
