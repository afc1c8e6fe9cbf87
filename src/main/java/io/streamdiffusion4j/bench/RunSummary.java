package io.streamdiffusion4j.bench;

import java.util.List;

/** The measured frames of one configuration and what they add up to. */
public record RunSummary(String name, String config, List<FrameSample> frames) {

    public int count() {
        return frames.size();
    }

    public double framesPerSecond() {
        long total = 0;
        for (FrameSample f : frames) total += f.total();
        return total == 0 ? Double.NaN : frames.size() / (total / 1e9);
    }

    public Percentiles latency() {
        return Percentiles.ofNanos(frames.stream().mapToLong(FrameSample::total).toArray());
    }

    /** Mean milliseconds of one stage over the measured frames. */
    public double meanMillis(java.util.function.ToLongFunction<FrameSample> stage) {
        return frames.stream().mapToLong(stage).average().orElse(Double.NaN) / 1e6;
    }

    public double unetRowsPerFrame() {
        return frames.stream().mapToLong(FrameSample::unetRows).average().orElse(Double.NaN);
    }

    public long skipped() {
        return frames.stream().filter(FrameSample::skipped).count();
    }

    /** Median bytes allocated per frame inside the pipeline call (the median ignores a rare GC-related outlier). */
    public long allocatedPerCall() {
        return median(frames.stream().mapToLong(FrameSample::allocatedInCall).toArray());
    }

    public long allocatedPerFrame() {
        return median(frames.stream().mapToLong(FrameSample::allocatedInFrame).toArray());
    }

    private static long median(long[] v) {
        if (v.length == 0) return -1;
        java.util.Arrays.sort(v);
        return v[v.length / 2];
    }
}
