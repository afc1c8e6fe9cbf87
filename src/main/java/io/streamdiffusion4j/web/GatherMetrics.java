package io.streamdiffusion4j.web;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.streamdiffusion4j.batching.GatherObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Cross-session batching in {@code /metrics} ({@code serve --gather-window-ms}): the calls made
 * to the UNet itself, their rows and streams, how long each waited to gather its streams, and how
 * often the window passed without a stream counted on. With batching off they stay at zero (the
 * sessions' own UNet calls are {@code sd4j_unet_calls_total}; the ratio of the two is the saving).
 */
final class GatherMetrics implements GatherObserver {
    /** Gather waits run from nothing (all streams there) to the window, tens of milliseconds at most in practice. */
    private static final Duration[] BUCKETS = List.of(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
            .stream().map(ms -> Duration.ofNanos((long) (ms * 1e6))).toArray(Duration[]::new);

    private final Counter calls;
    private final Counter rows;
    private final Counter timeouts;
    private final DistributionSummary streams;
    private final Timer wait;

    GatherMetrics(MeterRegistry registry) {
        calls = Counter.builder("sd4j.unet.model.calls")
                .description("Calls made to the UNet itself with cross-session batching (each may carry several sessions' calls)")
                .register(registry);
        rows = Counter.builder("sd4j.unet.model.rows")
                .description("Batch rows of the batched UNet calls (rows per call: this over sd4j_unet_model_calls_total)")
                .register(registry);
        timeouts = Counter.builder("sd4j.unet.gather.timeouts")
                .description("Batched UNet calls made when the gather window passed before every session counted on had called")
                .register(registry);
        streams = DistributionSummary.builder("sd4j.unet.batch.sessions").description("Sessions whose calls one UNet call carried")
                .serviceLevelObjectives(1, 2, 3, 4, 6, 8, 12, 16).register(registry);
        wait = Timer.builder("sd4j.unet.gather.wait")
                .description("How long a batched UNet call waited to gather the sessions' calls (at most --gather-window-ms)")
                .serviceLevelObjectives(BUCKETS).register(registry);
    }

    @Override
    public void batch(int sessions, int batchRows, long waitNanos, boolean timedOut) {
        calls.increment();
        rows.increment(batchRows);
        if (timedOut) timeouts.increment();
        streams.record(sessions);
        wait.record(waitNanos, TimeUnit.NANOSECONDS);
    }
}
