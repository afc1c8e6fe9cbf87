package io.streamdiffusion4j.batching;

/**
 * What a batching model did so far.
 *
 * @param streamCalls calls the streams made (each would have been a model call without batching)
 * @param modelCalls calls made to the model itself
 * @param rows batch rows of those model calls
 * @param timeouts batches whose gather window passed before every stream counted on had called
 * @param waitNanos total time the batches' first callers waited for the others
 */
public record BatchStats(long streamCalls, long modelCalls, long rows, long timeouts, long waitNanos) {
    /** Streams per model call (1 when nothing was stacked). */
    public double streamsPerCall() {
        return modelCalls == 0 ? 0 : (double) streamCalls / modelCalls;
    }

    /** The difference from {@code before} to this. */
    public BatchStats since(BatchStats before) {
        return new BatchStats(streamCalls - before.streamCalls, modelCalls - before.modelCalls, rows - before.rows,
                timeouts - before.timeouts, waitNanos - before.waitNanos);
    }
}
