package io.streamdiffusion4j.onnx;

/**
 * Time spent inside ONNX Runtime's {@code run} for one model: what the model itself costs,
 * as opposed to the pipeline around it. Read by the benchmark; one model thread at a time.
 */
public final class RunStats {
    private long calls;
    private long nanos;
    private long rows;

    void add(long elapsedNanos, long batchRows) {
        calls++;
        nanos += elapsedNanos;
        rows += batchRows;
    }

    public long calls() {
        return calls;
    }

    public long nanos() {
        return nanos;
    }

    /** Batch rows over all calls (the first dimension of the first input). */
    public long rows() {
        return rows;
    }

    /** A copy, to subtract later readings from. */
    public RunStats snapshot() {
        RunStats s = new RunStats();
        s.calls = calls;
        s.nanos = nanos;
        s.rows = rows;
        return s;
    }

    /** Nanoseconds since {@code earlier} (a snapshot of this). */
    public long nanosSince(RunStats earlier) {
        return nanos - earlier.nanos;
    }

    public long callsSince(RunStats earlier) {
        return calls - earlier.calls;
    }

    public long rowsSince(RunStats earlier) {
        return rows - earlier.rows;
    }
}
