package io.streamdiffusion4j.web;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions open on the server, across all pages and protocols: hands out at most
 * {@code max} slots, ends them all at shutdown, and closes pipelines off the network threads
 * (stopping one waits for its model call) while keeping count, so shutdown can wait for them.
 */
final class SessionRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(SessionRegistry.class);

    private final int max;
    private final ServerState state;
    private final Map<String, Consumer<Ending>> open = new LinkedHashMap<>();
    private int closing;

    SessionRegistry(int max, ServerState state) {
        this.max = max;
        this.state = state;
    }

    /** A place for one session. Closing it frees the place at once. */
    final class Slot implements AutoCloseable {
        private final String id;

        private Slot(String id) {
            this.id = id;
        }

        String id() {
            return id;
        }

        @Override
        public void close() {
            synchronized (SessionRegistry.this) {
                open.remove(id);
            }
        }
    }

    /**
     * A slot, or empty when the server is full or takes no sessions (draining). Checked under this
     * registry's lock, which {@link #endAll} takes after the server starts draining: a session
     * either is refused or is among those ended.
     *
     * @param end how to end the session at shutdown
     */
    synchronized Optional<Slot> open(Consumer<Ending> end) {
        if (open.size() >= max || !state.acceptsSessions()) return Optional.empty();
        String id = UUID.randomUUID().toString();
        open.put(id, end);
        return Optional.of(new Slot(id));
    }

    synchronized int active() {
        return open.size();
    }

    int max() {
        return max;
    }

    /** Pipelines handed to {@link #closeLater} and not yet closed. */
    synchronized int closing() {
        return closing;
    }

    /** Ends every open session (at shutdown). */
    void endAll(Ending ending) {
        List<Consumer<Ending>> all;
        synchronized (this) {
            all = new ArrayList<>(open.values());
        }
        for (Consumer<Ending> end : all) end.accept(ending);
    }

    /** Runs a pipeline's close on its own thread, counted until it is done. */
    void closeLater(String what, AutoCloseable pipeline) {
        closeLater(what, pipeline, () -> {});
    }

    /**
     * Runs a pipeline's close on its own thread, then {@code afterwards} (closed or failed to),
     * counted until both are done.
     */
    void closeLater(String what, AutoCloseable pipeline, Runnable afterwards) {
        synchronized (this) {
            closing++;
        }
        Thread.ofPlatform().daemon().name("sd4j-session-close").start(() -> {
            try {
                pipeline.close();
            } catch (Exception e) {
                LOG.warn("closing {} failed: {}", what, e.toString());
            }
            try {
                afterwards.run();
            } catch (RuntimeException e) {
                LOG.warn("after closing {}: {}", what, e.toString());
            } finally {
                synchronized (this) {
                    closing--;
                    notifyAll();
                }
            }
        });
    }

    /** Waits until every pipeline handed to {@link #closeLater} is closed; false on timeout. */
    synchronized boolean awaitClosed(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (closing > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }
}
