package io.streamdiffusion4j.web;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Server-wide counts of what was refused or dropped to keep the server within its limits, the
 * most ever queued for one client, sessions opened and ended, and errors by kind. Tests and the
 * load test read them to check the bounds hold; {@code /metrics} exports them from the registry
 * given (the counts read here and scraped there are the same numbers). They cost an atomic
 * operation or two per event.
 */
public final class ServerCounters {
    /** Error kinds besides the protocol's refusal codes (bad_json, bad_frame, ...). */
    static final String PIPELINE_FAILED = "pipeline_failed";
    static final String SESSION_START_FAILED = "session_start_failed";

    private final MeterRegistry registry;
    private final AtomicLong peakQueuedMessages = new AtomicLong();
    private final AtomicLong peakQueuedBytes = new AtomicLong();
    private final AtomicLong droppedMessages = new AtomicLong();
    private final AtomicLong protocolErrors = new AtomicLong();
    private final AtomicLong errorRepliesSuppressed = new AtomicLong();
    private final AtomicLong sessionsEndedForErrors = new AtomicLong();
    private final AtomicLong sessionsEndedNotReading = new AtomicLong();
    private final AtomicLong sessionsEndedIdle = new AtomicLong();

    ServerCounters(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("sd4j.client.queue.peak.messages", peakQueuedMessages, AtomicLong::get)
                .description("The most text messages ever waiting to be written to one page").register(registry);
        Gauge.builder("sd4j.client.queue.peak", peakQueuedBytes, AtomicLong::get).baseUnit(BaseUnits.BYTES)
                .description("The most bytes ever waiting to be written to one page").register(registry);
        FunctionCounter.builder("sd4j.messages.dropped", droppedMessages, AtomicLong::get)
                .description("Messages not sent because their page's queue was full").register(registry);
        FunctionCounter.builder("sd4j.protocol.errors", protocolErrors, AtomicLong::get)
                .description("Refused client messages, answered or not (by kind: sd4j_errors_total)").register(registry);
        FunctionCounter.builder("sd4j.protocol.errors.unanswered", errorRepliesSuppressed, AtomicLong::get)
                .description("Refused client messages not answered: the session had used up its error budget").register(registry);
    }

    void queued(int messages, long bytes) {
        peakQueuedMessages.accumulateAndGet(messages, Math::max);
        peakQueuedBytes.accumulateAndGet(bytes, Math::max);
    }

    void droppedMessage() {
        droppedMessages.incrementAndGet();
    }

    /** A refused client message; {@code code} is the protocol's code for it (bad_json, bad_frame, ...). */
    void protocolError(String code, boolean replied) {
        protocolErrors.incrementAndGet();
        if (!replied) errorRepliesSuppressed.incrementAndGet();
        error(code);
    }

    /** An error by kind: a protocol code, {@link #PIPELINE_FAILED} or {@link #SESSION_START_FAILED}. */
    void error(String kind) {
        Counter.builder("sd4j.errors").tag("kind", kind)
                .description("Errors by kind: the protocol's refusal codes, pipeline_failed, session_start_failed")
                .register(registry).increment();
    }

    /** A session got its pipeline ({@code kind}: img2img, txt2img or compat). */
    void opened(String kind) {
        Counter.builder("sd4j.sessions.opened").tag("kind", kind).description("Sessions that got their pipeline")
                .register(registry).increment();
    }

    void ended(Ending ending) {
        Counter.builder("sd4j.sessions.ended").tag("reason", ending.reason()).description("Sessions ended, by why")
                .register(registry).increment();
        if (ending.reason().equals(Ending.FAILED)) error(PIPELINE_FAILED);
        switch (ending.reason()) {
            case Ending.TOO_MANY_ERRORS -> sessionsEndedForErrors.incrementAndGet();
            case Ending.NOT_READING -> sessionsEndedNotReading.incrementAndGet();
            case Ending.IDLE -> sessionsEndedIdle.incrementAndGet();
            default -> { }
        }
    }

    /** The most text messages ever waiting to be written to one client. */
    public long peakQueuedMessages() {
        return peakQueuedMessages.get();
    }

    /** The most bytes ever waiting to be written to one client (text and the frame being written). */
    public long peakQueuedBytes() {
        return peakQueuedBytes.get();
    }

    /** Messages not queued because their client's queue was full. */
    public long droppedMessages() {
        return droppedMessages.get();
    }

    /** Refused client messages (bad JSON, bad settings, bad frames), answered or not. */
    public long protocolErrors() {
        return protocolErrors.get();
    }

    /** Refused client messages whose error reply was not sent: the session had used up its error budget. */
    public long errorRepliesSuppressed() {
        return errorRepliesSuppressed.get();
    }

    public long sessionsEndedForErrors() {
        return sessionsEndedForErrors.get();
    }

    public long sessionsEndedNotReading() {
        return sessionsEndedNotReading.get();
    }

    public long sessionsEndedIdle() {
        return sessionsEndedIdle.get();
    }

    @Override
    public String toString() {
        return "peak queue " + peakQueuedMessages() + " messages / " + peakQueuedBytes() + " bytes, dropped " + droppedMessages()
                + ", protocol errors " + protocolErrors() + " (" + errorRepliesSuppressed() + " unanswered), ended: "
                + sessionsEndedForErrors() + " for errors, " + sessionsEndedNotReading() + " not reading, " + sessionsEndedIdle()
                + " idle";
    }
}
