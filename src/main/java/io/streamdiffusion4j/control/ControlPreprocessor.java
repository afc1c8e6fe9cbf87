package io.streamdiffusion4j.control;

import io.streamdiffusion4j.image.RgbImage;

/**
 * Turns an input frame (already at the stream's size) into the control image a ControlNet is
 * conditioned on: three channels in [0, 1], the frame's size. The real-time engine runs it on
 * its input thread, beside the model thread, so it costs the stream no model time.
 */
public interface ControlPreprocessor extends AutoCloseable {

    /** The name users give it ({@code none}, {@code canny}, {@code depth}). */
    String name();

    /**
     * Writes the control image of {@code frame} channels-first (3 planes of width x height) into
     * {@code out} from {@code offset}.
     */
    void apply(RgbImage frame, float[] out, int offset);

    @Override
    default void close() {}
}
