package io.streamdiffusion4j.control;

import io.streamdiffusion4j.image.RgbImage;

/** {@code canny}: the frame's Canny edge map ({@link CannyEdges}, OpenCV's thresholds 100 and 200), white edges on black. */
public final class CannyPreprocessor implements ControlPreprocessor {
    public static final String NAME = "canny";
    private final CannyEdges edges;

    public CannyPreprocessor(CannyEdges edges) {
        this.edges = edges;
    }

    public CannyPreprocessor() {
        this(CannyEdges.DEFAULT);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void apply(RgbImage frame, float[] out, int offset) {
        ControlImages.writeUnit(edges.apply(frame), out, offset);
    }
}
