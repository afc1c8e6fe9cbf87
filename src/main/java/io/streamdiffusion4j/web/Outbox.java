package io.streamdiffusion4j.web;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * Sends to one WebSocket from several threads, and bounds what waits for a client that does not
 * read. A frame is a JSON header and its JPEG sent back to back, never split by another message.
 * One frame is written at a time; while it is (a slow network), the newest next frame waits and
 * older waiting ones are dropped, so the client always ends on the newest image and the model
 * never waits for the network.
 *
 * <p>Text messages (status, replies, errors) are handed to Jetty, which queues them until the
 * network takes them. At most {@link #MAX_QUEUED_MESSAGES} messages and {@link #MAX_QUEUED_BYTES}
 * bytes (the frame being written included) may wait; a message beyond that is dropped and the
 * owner is told once ({@code onOverflow}): a client that far behind is not reading, and the
 * session ends. Without this bound, a client that sends small messages and never reads makes
 * the server queue one reply per message until it runs out of memory.
 */
final class Outbox {
    static final int MAX_QUEUED_MESSAGES = 64;
    static final long MAX_QUEUED_BYTES = 1 << 20;

    private final Session session;
    private final ServerCounters counters;
    private final ServerMetrics metrics;
    private final Runnable onOverflow;
    private boolean writing;     // guarded by this
    private Pending waiting;     // guarded by this
    private long dropped;        // guarded by this
    private int queuedMessages;  // guarded by this
    private long queuedBytes;    // guarded by this
    private boolean overflowed;  // guarded by this

    private record Pending(String header, byte[] jpeg, Runnable onSent) {}

    /**
     * @param onOverflow called once, outside the lock, when a message had to be dropped because
     *                   the client's queue was full
     */
    Outbox(Session session, ServerCounters counters, ServerMetrics metrics, Runnable onOverflow) {
        this.session = session;
        this.counters = counters;
        this.metrics = metrics;
        this.onOverflow = onOverflow;
    }

    void text(String json) {
        boolean overflowNow = false;
        synchronized (this) {
            if (!session.isOpen()) return;
            long bytes = json.getBytes(StandardCharsets.UTF_8).length;
            if (queuedMessages + 1 > MAX_QUEUED_MESSAGES || queuedBytes + bytes > MAX_QUEUED_BYTES) {
                counters.droppedMessage();
                overflowNow = !overflowed;
                overflowed = true;
            } else {
                enqueued(bytes);
                session.sendText(json, Callback.from(() -> dequeued(bytes), x -> dequeued(bytes)));
            }
        }
        if (overflowNow) onOverflow.run();
    }

    /**
     * Sends a frame's header and image, or keeps it as the next one when a frame is being written.
     *
     * @param onSent called once the image is written
     */
    synchronized void frame(String header, byte[] jpeg, Runnable onSent) {
        if (!session.isOpen()) {
            droppedFrame();
            return;
        }
        if (writing) {
            if (waiting != null) droppedFrame();
            waiting = new Pending(header, jpeg, onSent);
            return;
        }
        write(new Pending(header, jpeg, onSent));
    }

    private void write(Pending p) {
        writing = true;
        long bytes = p.header().length() + (long) p.jpeg().length;
        enqueued(bytes);
        session.sendText(p.header(), Callback.NOOP);
        session.sendBinary(ByteBuffer.wrap(p.jpeg()), Callback.from(() -> written(p, bytes), x -> written(null, bytes)));
    }

    private void written(Pending done, long bytes) {
        if (done != null) done.onSent().run();
        synchronized (this) {
            dequeued(bytes);
            writing = false;
            Pending next = waiting;
            waiting = null;
            if (next != null) {
                if (session.isOpen()) write(next);
                else droppedFrame();
            }
        }
    }

    private void droppedFrame() { // holding this
        dropped++;
        metrics.dropped(FrameMetrics.NOT_SENT, 1);
    }

    private void enqueued(long bytes) { // holding this
        queuedMessages++;
        queuedBytes += bytes;
        counters.queued(queuedMessages, queuedBytes);
    }

    private synchronized void dequeued(long bytes) {
        queuedMessages--;
        queuedBytes -= bytes;
    }

    /** Frames dropped because the client could not take them as fast as they were made. */
    synchronized long dropped() {
        return dropped;
    }

    /** Messages waiting to be written now. */
    synchronized int queuedMessages() {
        return queuedMessages;
    }

    synchronized void close(int code, String reason) {
        if (!session.isOpen()) return;
        if (overflowed) {
            // the client does not read: a close frame would wait behind everything queued
            session.disconnect();
        } else {
            session.close(code, reason, Callback.NOOP);
        }
    }
}
