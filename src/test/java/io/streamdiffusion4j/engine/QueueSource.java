package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.image.RgbImage;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** A source the test feeds frame by frame (or all at once); {@link #end} ends it. */
final class QueueSource implements FrameSource {
    private static final RgbImage END = new RgbImage(1, 1, new byte[3]);
    private final BlockingQueue<RgbImage> frames = new LinkedBlockingQueue<>();
    private final boolean live;
    private long index;

    QueueSource(boolean live) {
        this.live = live;
    }

    void feed(RgbImage image) {
        frames.add(image);
    }

    void end() {
        frames.add(END);
    }

    @Override
    public Frame next() throws InterruptedException {
        RgbImage img = frames.take();
        if (img == END) return null;
        return new Frame(index++, System.nanoTime(), img);
    }

    @Override
    public boolean live() {
        return live;
    }

    @Override
    public String describe() {
        return "test queue";
    }

    @Override
    public void close() {
        frames.add(END);
    }
}
