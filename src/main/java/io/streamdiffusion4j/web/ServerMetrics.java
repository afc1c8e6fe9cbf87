package io.streamdiffusion4j.web;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.streamdiffusion4j.engine.EngineObserver;
import io.streamdiffusion4j.engine.ProcessMemory;

/**
 * Everything {@code GET /metrics} answers, in one registry (Micrometer's, written in the
 * Prometheus text format): sessions open and their limit, the frame totals of all sessions
 * ({@link FrameMetrics}), cross-session batching ({@link GatherMetrics}), what the server refused, dropped and ended ({@link ServerCounters}),
 * the JVM's memory pools and the process's resident memory (heap, ONNX Runtime and the rest).
 */
public final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final FrameMetrics frames = new FrameMetrics(registry);
    private final GatherMetrics gathering = new GatherMetrics(registry);

    ServerMetrics(SessionRegistry sessions) {
        Gauge.builder("sd4j.sessions", sessions, SessionRegistry::active).description("Sessions open now").register(registry);
        Gauge.builder("sd4j.sessions.max", sessions, SessionRegistry::max).description("Sessions allowed at once (--max-sessions)")
                .register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        Gauge.builder("process.resident.memory", ProcessMemory::rssBytes).baseUnit(BaseUnits.BYTES)
                .description("Resident memory of the process (Java heap, ONNX Runtime's native memory and all); -1 off Linux")
                .register(registry);
    }

    MeterRegistry registry() {
        return registry;
    }

    /** Told of every session pipeline's frames and stage times. */
    EngineObserver frames() {
        return frames;
    }

    /** Told of every batched UNet and VAE call (cross-session batching). */
    GatherMetrics gathering() {
        return gathering;
    }

    /** Frames dropped outside a pipeline: {@link FrameMetrics#REPLACED}, {@link FrameMetrics#RATE_LIMITED}, {@link FrameMetrics#NOT_SENT}. */
    void dropped(String reason, long frames) {
        this.frames.dropped(reason, frames);
    }

    /** The Prometheus text format (version 0.0.4) of every meter. */
    public String scrape() {
        return registry.scrape();
    }
}
