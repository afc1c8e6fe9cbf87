package io.streamdiffusion4j.engine;

import java.util.ArrayDeque;

/** Events per second over the last few seconds. */
final class RateMeter {
    private static final long WINDOW = 3_000_000_000L;
    private final ArrayDeque<Long> times = new ArrayDeque<>();

    synchronized void mark(long now) {
        times.addLast(now);
        while (!times.isEmpty() && now - times.peekFirst() > WINDOW) times.removeFirst();
    }

    synchronized double perSecond(long now) {
        while (!times.isEmpty() && now - times.peekFirst() > WINDOW) times.removeFirst();
        if (times.size() < 2) return 0;
        long span = now - times.peekFirst();
        return span <= 0 ? 0 : (times.size() - 1) * 1e9 / span;
    }
}
