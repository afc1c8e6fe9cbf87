package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.image.RgbImage;

/** One configuration taking part in an interleaved comparison: it runs one frame when its turn comes. */
interface Arm extends AutoCloseable {
    String name();

    /** The configuration in words, for the report. */
    String config();

    /** Runs one frame on {@code input} and says what it cost. */
    ArmFrame run(RgbImage input);

    @Override
    void close();
}
