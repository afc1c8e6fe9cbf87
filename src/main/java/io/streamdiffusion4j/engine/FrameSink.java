package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.image.RgbImage;
import java.io.IOException;

/** Where generated frames go. Closing finishes the output (for example the video file's trailer). */
public interface FrameSink extends AutoCloseable {

    void accept(RgbImage image, long index) throws IOException;

    /**
     * Whether a slow sink may hold the model back (files: every frame matters) or outputs are
     * dropped when it falls behind (previews, live pipes).
     */
    boolean lossless();

    String describe();

    /** Finishes the output: a file is complete and under its final name when this returns. */
    @Override
    void close() throws IOException;

    /**
     * Ends the output after a failure of the stream: nothing incomplete is left under the final
     * name (a sink whose frames are each complete, like a folder, just stops).
     */
    default void abandon() throws IOException {
        close();
    }
}
