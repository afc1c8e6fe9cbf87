package io.streamdiffusion4j.bench;

import java.util.Arrays;

/** Summary of a series of durations, in milliseconds; percentiles by the nearest-rank method. */
public record Percentiles(int count, double mean, double min, double p50, double p95, double p99, double max) {

    public static Percentiles ofNanos(long[] nanos) {
        if (nanos.length == 0) return new Percentiles(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        long[] s = nanos.clone();
        Arrays.sort(s);
        double sum = 0;
        for (long v : s) sum += v;
        return new Percentiles(s.length, sum / s.length / 1e6, s[0] / 1e6, rank(s, 50), rank(s, 95), rank(s, 99),
                s[s.length - 1] / 1e6);
    }

    private static double rank(long[] sorted, int percent) {
        int index = (int) Math.ceil(percent / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
    }
}
