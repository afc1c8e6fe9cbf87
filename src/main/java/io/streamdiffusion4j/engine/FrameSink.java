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

    @Override
    void close() throws IOException;
}
