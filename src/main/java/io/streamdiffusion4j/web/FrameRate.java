package io.streamdiffusion4j.web;

import java.util.ArrayDeque;

/** Frames per second over the last three seconds (for the txt2img status; the engine has its own). */
final class FrameRate {
    private static final long WINDOW = 3_000_000_000L;
    private final ArrayDeque<Long> times = new ArrayDeque<>();

    synchronized void mark() {
        long now = System.nanoTime();
        times.addLast(now);
        trim(now);
    }

    synchronized double perSecond() {
        long now = System.nanoTime();
        trim(now);
        if (times.size() < 2) return 0;
        long span = now - times.peekFirst();
        return span <= 0 ? 0 : (times.size() - 1) * 1e9 / span;
    }

    private void trim(long now) {
        while (!times.isEmpty() && now - times.peekFirst() > WINDOW) times.removeFirst();
    }
}
