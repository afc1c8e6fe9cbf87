package io.streamdiffusion4j.engine;

/**
 * Told of each event a stream counts or times, as it happens, for totals that outlive one stream
 * (a server's metrics across its sessions). The stream's own {@link Telemetry} is kept by the
 * engine either way; an observer sees the same measurements, never its own timings. Called on the
 * stream's threads: implementations must be thread-safe and quick.
 */
public interface EngineObserver {
    EngineObserver NONE = new EngineObserver() {};

    /** A frame was read from the source. */
    default void frameIn() {}

    /**
     * An image reached the sink.
     *
     * @param latencyNanos from the frame's capture (its arrival, for a live source) to the sink; -1 when unknown
     */
    default void frameOut(long latencyNanos) {}

    /** Frames dropped before the model (newer ones replaced them, or left at a stop). */
    default void inputDropped(long frames) {}

    /** Outputs dropped because the sink was slower than the model. */
    default void outputDropped(long frames) {}

    /** Frames the similarity filter skipped (the previous output was repeated). */
    default void skipped(long frames) {}

    /**
     * Time one stage took: preprocess, encode (VAE encoder), unet (the denoising calls of one
     * frame), decode (VAE decoder) or postprocess.
     */
    default void stage(String stage, long nanos) {}

    /** UNet calls a generating call made and the batch rows they had in all. */
    default void unetCalls(long calls, long rows) {}
}
