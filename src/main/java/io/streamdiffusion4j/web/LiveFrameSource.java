package io.streamdiffusion4j.web;

import io.streamdiffusion4j.engine.Frame;
import io.streamdiffusion4j.engine.FrameSource;
import java.util.ArrayDeque;

/**
 * Frames pushed by a client, for the engine: the newest frame wins, and at most
 * {@code maxInFlight} frames are inside the engine at a time (one in the model, one decoded and
 * waiting), so the engine never drops a frame itself. That makes outputs come back in the order
 * frames were let in, one each, and {@link #completed} names the input of each output: the
 * client learns its latency, and a session can prove which of its frames an image came from.
 */
final class LiveFrameSource implements FrameSource {

    /** A frame let into the engine: the client's number for it and when it arrived. */
    record Released(long seq, long arrivedNanos) {}

    private final int maxInFlight;
    private final Runnable onReplaced;
    private final ArrayDeque<Released> inFlight = new ArrayDeque<>();
    private Frame waiting;
    private boolean closed;
    private long replaced;

    LiveFrameSource(int maxInFlight) {
        this(maxInFlight, () -> {});
    }

    /** @param onReplaced called (holding this source's lock: quick) each time a waiting frame is replaced */
    LiveFrameSource(int maxInFlight, Runnable onReplaced) {
        if (maxInFlight < 1) throw new IllegalArgumentException("maxInFlight must be at least 1");
        this.maxInFlight = maxInFlight;
        this.onReplaced = onReplaced;
    }

    /** Offers a frame; a frame still waiting is replaced (and counted). False once closed. */
    synchronized boolean offer(Frame frame) {
        if (closed) return false;
        if (waiting != null) {
            replaced++;
            onReplaced.run();
        }
        waiting = frame;
        notifyAll();
        return true;
    }

    @Override
    public synchronized Frame next() throws InterruptedException {
        while (!closed && (waiting == null || inFlight.size() >= maxInFlight)) wait();
        if (closed) return null;
        Frame f = waiting;
        waiting = null;
        inFlight.addLast(new Released(f.index(), f.capturedNanos()));
        return f;
    }

    /** The engine produced the output of the oldest frame in flight: returns that frame and frees its place. */
    synchronized Released completed() {
        Released r = inFlight.pollFirst();
        if (r == null) throw new IllegalStateException("an output came back with no frame in flight");
        notifyAll();
        return r;
    }

    /** Frames replaced by a newer one before the model could take them. */
    synchronized long replaced() {
        return replaced;
    }

    @Override
    public boolean live() {
        return true;
    }

    @Override
    public String describe() {
        return "web client";
    }

    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}
