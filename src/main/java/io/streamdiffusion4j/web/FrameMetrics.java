package io.streamdiffusion4j.web;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.streamdiffusion4j.engine.EngineObserver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The server's frame totals across all sessions, as the sessions' pipelines count and time them
 * (the same events as the status line of {@code run} and the pages' status messages): frames in,
 * out, dropped (by where), skipped, the latency of each frame and each stage, UNet calls and
 * their rows. One instance serves every session; Micrometer's meters are thread-safe.
 */
final class FrameMetrics implements EngineObserver {
    /** Where a frame was dropped: before the model, after it, by the session's limits, or on the way to its page. */
    static final String ENGINE_INPUT = "engine_input";
    static final String ENGINE_OUTPUT = "engine_output";
    static final String REPLACED = "replaced";
    static final String RATE_LIMITED = "rate_limited";
    static final String NOT_SENT = "not_sent";
    static final List<String> STAGES = List.of("preprocess", "encode", "unet", "decode", "postprocess");

    /**
     * Histogram buckets for stage and frame times: a 64x64 tiny model takes about a millisecond a
     * stage, an sd-turbo UNet call on a CPU seconds; the buckets cover both.
     */
    private static final Duration[] BUCKETS = List.of(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000)
            .stream().map(Duration::ofMillis).toArray(Duration[]::new);

    private final Counter in;
    private final Counter out;
    private final Counter skipped;
    private final Counter unetCalls;
    private final Counter unetRows;
    private final Map<String, Counter> dropped;
    private final Map<String, Timer> stages;
    private final Timer latency;

    FrameMetrics(MeterRegistry registry) {
        in = Counter.builder("sd4j.frames.in").description("Input frames taken in by the sessions' pipelines").register(registry);
        out = Counter.builder("sd4j.frames.out").description("Images the sessions' pipelines made and handed on").register(registry);
        skipped = Counter.builder("sd4j.frames.skipped")
                .description("Frames the similarity filter skipped (the previous image was repeated)").register(registry);
        unetCalls = Counter.builder("sd4j.unet.calls").description("UNet calls").register(registry);
        unetRows = Counter.builder("sd4j.unet.rows")
                .description("Batch rows of all UNet calls (rows per call: this over sd4j_unet_calls_total)").register(registry);
        dropped = List.of(ENGINE_INPUT, ENGINE_OUTPUT, REPLACED, RATE_LIMITED, NOT_SENT).stream()
                .collect(Collectors.toUnmodifiableMap(r -> r, r -> Counter.builder("sd4j.frames.dropped").tag("reason", r)
                        .description("Frames dropped: engine_input/engine_output inside a pipeline, replaced by a newer"
                                + " frame from the same page, rate_limited over --max-fps, not_sent made but not sent"
                                + " (the page was still receiving the one before, or had gone)")
                        .register(registry)));
        stages = STAGES.stream().collect(Collectors.toUnmodifiableMap(s -> s, s -> Timer.builder("sd4j.stage").tag("stage", s)
                .description("Time of one pipeline stage per frame: preprocess, encode (VAE encoder), unet (the frame's"
                        + " denoising calls), decode (VAE decoder), postprocess")
                .serviceLevelObjectives(BUCKETS).register(registry)));
        latency = Timer.builder("sd4j.frame.latency")
                .description("From a frame's arrival at the server to its image leaving the pipeline")
                .serviceLevelObjectives(BUCKETS).register(registry);
    }

    @Override
    public void frameIn() {
        in.increment();
    }

    @Override
    public void frameOut(long latencyNanos) {
        out.increment();
        if (latencyNanos >= 0) latency.record(latencyNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void inputDropped(long frames) {
        dropped(ENGINE_INPUT, frames);
    }

    @Override
    public void outputDropped(long frames) {
        dropped(ENGINE_OUTPUT, frames);
    }

    @Override
    public void skipped(long frames) {
        skipped.increment(frames);
    }

    @Override
    public void stage(String stage, long nanos) {
        Timer t = stages.get(stage);
        if (t != null) t.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void unetCalls(long calls, long rows) {
        unetCalls.increment(calls);
        unetRows.increment(rows);
    }

    /** Frames dropped outside the engine (the page's limits, its network). */
    void dropped(String reason, long frames) {
        Counter c = dropped.get(reason);
        if (c == null) throw new IllegalArgumentException("unknown drop reason " + reason);
        c.increment(frames);
    }
}
