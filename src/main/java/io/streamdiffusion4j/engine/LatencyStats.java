package io.streamdiffusion4j.engine;

import java.util.Arrays;

/** Percentiles over the most recent samples (a ring buffer), for live telemetry. */
final class LatencyStats {
    private final long[] samples;
    private int next;
    private int count;

    LatencyStats(int window) {
        samples = new long[window];
    }

    synchronized void add(long nanos) {
        samples[next] = nanos;
        next = (next + 1) % samples.length;
        if (count < samples.length) count++;
    }

    /** The p-th percentile in milliseconds (nearest rank), or NaN with no samples. */
    synchronized double percentileMillis(double p) {
        if (count == 0) return Double.NaN;
        long[] copy = Arrays.copyOf(samples, count);
        Arrays.sort(copy);
        int rank = (int) Math.ceil(p / 100.0 * count) - 1;
        return copy[Math.clamp(rank, 0, count - 1)] / 1e6;
    }
}
