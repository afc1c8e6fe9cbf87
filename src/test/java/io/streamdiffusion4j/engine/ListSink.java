package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.image.RgbImage;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Collects outputs; optionally slow. */
final class ListSink implements FrameSink {
    final List<RgbImage> images = new CopyOnWriteArrayList<>();
    final List<Long> indices = new CopyOnWriteArrayList<>();
    volatile boolean closed;
    private final boolean lossless;

    ListSink(boolean lossless) {
        this.lossless = lossless;
    }

    @Override
    public void accept(RgbImage image, long index) {
        images.add(image);
        indices.add(index);
    }

    @Override
    public boolean lossless() {
        return lossless;
    }

    @Override
    public String describe() {
        return "test list";
    }

    @Override
    public void close() {
        closed = true;
    }
}
