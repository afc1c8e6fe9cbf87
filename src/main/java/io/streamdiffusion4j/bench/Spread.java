package io.streamdiffusion4j.bench;

import java.util.Arrays;

/**
 * Median and spread of a series (nearest-rank percentiles): what a comparison reports instead
 * of a mean, which one slow frame on a shared machine can move far.
 */
record Spread(int count, double p10, double q1, double median, double q3, double p90) {

    static Spread of(double[] values) {
        if (values.length == 0) return new Spread(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        double[] s = values.clone();
        Arrays.sort(s);
        return new Spread(s.length, rank(s, 10), rank(s, 25), rank(s, 50), rank(s, 75), rank(s, 90));
    }

    private static double rank(double[] sorted, int percent) {
        int index = (int) Math.ceil(percent / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
