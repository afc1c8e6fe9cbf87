package io.streamdiffusion4j.web;

/**
 * A token bucket: on average {@code perSecond} events, with a small burst so that a client
 * pacing itself at the limit is not refused for timer jitter.
 */
final class RateLimiter {
    private final double perSecond;
    private final double capacity;
    private double tokens;
    private long last;

    RateLimiter(double perSecond, long nowNanos) {
        this(perSecond, Math.max(2, perSecond / 4), nowNanos);
    }

    /** @param capacity the burst: events allowed at once after a quiet spell */
    RateLimiter(double perSecond, double capacity, long nowNanos) {
        this.perSecond = perSecond;
        this.capacity = capacity;
        this.tokens = capacity;
        this.last = nowNanos;
    }

    synchronized boolean tryAcquire(long nowNanos) {
        tokens = Math.min(capacity, tokens + (nowNanos - last) * perSecond / 1e9);
        last = nowNanos;
        if (tokens < 1) return false;
        tokens -= 1;
        return true;
    }
}
