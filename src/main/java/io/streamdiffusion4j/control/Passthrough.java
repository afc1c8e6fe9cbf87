package io.streamdiffusion4j.control;

import io.streamdiffusion4j.image.RgbImage;

/** {@code none}: the input frame is the control image (for a source that sends ready edge or depth maps). */
public final class Passthrough implements ControlPreprocessor {
    public static final String NAME = "none";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void apply(RgbImage frame, float[] out, int offset) {
        ControlImages.writeUnit(frame, out, offset);
    }
}
