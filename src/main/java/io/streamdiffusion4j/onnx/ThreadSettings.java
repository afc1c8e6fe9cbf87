package io.streamdiffusion4j.onnx;

/**
 * How ONNX Runtime's CPU work is threaded.
 *
 * @param intraOpThreads threads that split one operator (one convolution, one matmul); all cores by default
 * @param spinning whether idle pool threads spin for new work instead of sleeping: lower latency
 *     per operator, but they burn a core each while the JVM works between model calls
 */
public record ThreadSettings(int intraOpThreads, boolean spinning) {

    public ThreadSettings {
        if (intraOpThreads < 1) throw new IllegalArgumentException("intra-op threads must be at least 1, found " + intraOpThreads);
    }

    /** One thread per core, spinning on (ONNX Runtime's own default). */
    public static ThreadSettings defaults() {
        return new ThreadSettings(Runtime.getRuntime().availableProcessors(), true);
    }

    @Override
    public String toString() {
        return intraOpThreads + " intra-op thread(s), spinning " + (spinning ? "on" : "off");
    }
}
