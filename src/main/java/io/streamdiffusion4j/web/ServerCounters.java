package io.streamdiffusion4j.web;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Server-wide counts of what was refused or dropped to keep the server within its limits, and
 * the most ever queued for one client. Tests and the load test read them to check the bounds
 * hold; they cost one atomic operation per event.
 */
public final class ServerCounters {
    private final AtomicLong peakQueuedMessages = new AtomicLong();
    private final AtomicLong peakQueuedBytes = new AtomicLong();
    private final AtomicLong droppedMessages = new AtomicLong();
    private final AtomicLong protocolErrors = new AtomicLong();
    private final AtomicLong errorRepliesSuppressed = new AtomicLong();
    private final AtomicLong sessionsEndedForErrors = new AtomicLong();
    private final AtomicLong sessionsEndedNotReading = new AtomicLong();
    private final AtomicLong sessionsEndedIdle = new AtomicLong();

    void queued(int messages, long bytes) {
        peakQueuedMessages.accumulateAndGet(messages, Math::max);
        peakQueuedBytes.accumulateAndGet(bytes, Math::max);
    }

    void droppedMessage() {
        droppedMessages.incrementAndGet();
    }

    void protocolError(boolean replied) {
        protocolErrors.incrementAndGet();
        if (!replied) errorRepliesSuppressed.incrementAndGet();
    }

    void ended(Ending ending) {
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
