package io.streamdiffusion4j.batching;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/** What one batching model counts ({@link BatchStats}) and tells its {@link GatherObserver}: the UNet's, the VAE encoder's, the decoder's. */
final class BatchCounter {
    private final AtomicLong streamCalls = new AtomicLong();
    private final AtomicLong modelCalls = new AtomicLong();
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong timeouts = new AtomicLong();
    private final AtomicLong waitNanos = new AtomicLong();
    private volatile GatherObserver observer = GatherObserver.NONE;

    void observe(GatherObserver observer) {
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    /** A stream called (each would have been a model call without batching). */
    void streamCall() {
        streamCalls.incrementAndGet();
    }

    /** One call of the model itself ran, carrying {@code streams} streams' calls. */
    void modelCall(int streams, int batchRows, Gatherer.Gathered gathered) {
        modelCalls.incrementAndGet();
        rows.addAndGet(batchRows);
        waitNanos.addAndGet(gathered.waitNanos());
        if (gathered.timedOut()) timeouts.incrementAndGet();
        observer.batch(streams, batchRows, gathered.waitNanos(), gathered.timedOut());
    }

    BatchStats stats() {
        return new BatchStats(streamCalls.get(), modelCalls.get(), rows.get(), timeouts.get(), waitNanos.get());
    }
}
