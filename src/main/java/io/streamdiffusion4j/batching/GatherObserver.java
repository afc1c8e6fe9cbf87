package io.streamdiffusion4j.batching;

/** Told of every batched model call: how many streams shared it and how long it waited to gather them. */
public interface GatherObserver {
    GatherObserver NONE = (streams, rows, waitNanos, timedOut) -> { };

    /**
     * @param streams the streams whose calls were stacked into this one call
     * @param rows the batch rows of the call
     * @param waitNanos how long the first of them waited for the others
     * @param timedOut whether the gather window passed before every stream counted on had called
     */
    void batch(int streams, int rows, long waitNanos, boolean timedOut);
}
