package io.streamdiffusion4j.engine;

import java.io.IOException;
import java.util.OptionalLong;

/**
 * Where frames come from. {@link #next} blocks until a frame is available and returns null at
 * the end; live sources pace themselves (a screen at its frame rate), files go as fast as read.
 */
public interface FrameSource extends AutoCloseable {

    /** The next frame, or null when the source is exhausted. */
    Frame next() throws IOException, InterruptedException;

    /** Number of frames, when known in advance (for progress bars). */
    default OptionalLong length() {
        return OptionalLong.empty();
    }

    /**
     * Live sources (screen, camera, stdin) keep only the newest frame when the model is busy;
     * files deliver every frame.
     */
    boolean live();

    /** Frames per second of the source when it has one (a video file's rate), else 0. */
    default double frameRate() {
        return 0;
    }

    /** What this source is, for messages. */
    String describe();

    @Override
    void close() throws IOException;
}
