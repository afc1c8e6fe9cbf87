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
 * Cross-session batching in {@code /metrics} ({@code serve --gather-window-ms}), for each model
 * whose calls are gathered (the UNet: {@code sd4j_unet_*}; the VAE encoder and decoder:
 * {@code sd4j_vae_encode_*}, {@code sd4j_vae_decode_*}): the calls made to the model itself, their
 * rows and sessions, how long each waited to gather its sessions, and how often the window passed
 * without a session counted on. With batching off they stay at zero (the sessions' own UNet calls
 * are {@code sd4j_unet_calls_total}; the ratio of the two is the saving; the sessions' own VAE
 * calls are the {@code _sum} of the sessions-per-call summary).
 */
final class GatherMetrics {
    /** Gather waits run from nothing (all streams there) to the window, tens of milliseconds at most in practice. */
    private static final Duration[] BUCKETS = List.of(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
            .stream().map(ms -> Duration.ofNanos((long) (ms * 1e6))).toArray(Duration[]::new);

    private final Stage unet;
    private final Stage encodes;
    private final Stage decodes;

    GatherMetrics(MeterRegistry registry) {
        unet = new Stage(registry, "sd4j.unet", "the UNet");
        encodes = new Stage(registry, "sd4j.vae.encode", "the VAE encoder");
        decodes = new Stage(registry, "sd4j.vae.decode", "the VAE decoder");
    }

    /** Told of every batched UNet call. */
    GatherObserver unet() {
        return unet;
    }

    /** Told of every batched VAE encoder call. */
    GatherObserver encodes() {
        return encodes;
    }

    /** Told of every batched VAE decoder call. */
    GatherObserver decodes() {
        return decodes;
    }

    /** The meters of one gathered model. */
    private static final class Stage implements GatherObserver {
        private final Counter calls;
        private final Counter rows;
        private final Counter timeouts;
        private final DistributionSummary streams;
        private final Timer wait;

        Stage(MeterRegistry registry, String prefix, String model) {
            calls = Counter.builder(prefix + ".model.calls")
                    .description("Calls made to " + model + " itself with cross-session batching (each may carry several sessions' calls)")
                    .register(registry);
            String callsName = prefix.replace('.', '_') + "_model_calls_total";
            rows = Counter.builder(prefix + ".model.rows")
                    .description("Batch rows of the batched calls of " + model + " (rows per call: this over " + callsName + ")")
                    .register(registry);
            timeouts = Counter.builder(prefix + ".gather.timeouts")
                    .description("Batched calls of " + model + " made when the gather window passed before every session counted on"
                            + " had called")
                    .register(registry);
            streams = DistributionSummary.builder(prefix + ".batch.sessions")
                    .description("Sessions whose calls one call of " + model + " carried")
                    .serviceLevelObjectives(1, 2, 3, 4, 6, 8, 12, 16).register(registry);
            wait = Timer.builder(prefix + ".gather.wait")
                    .description("How long a batched call of " + model + " waited to gather the sessions' calls (at most --gather-window-ms)")
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
}
