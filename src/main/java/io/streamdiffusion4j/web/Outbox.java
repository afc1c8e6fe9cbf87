package io.streamdiffusion4j.web;

import java.nio.ByteBuffer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * Sends to one WebSocket from several threads. A frame is a JSON header and its JPEG sent back to
 * back, never split by another message. One frame is written at a time; while it is (a slow
 * network), the newest next frame waits and older waiting ones are dropped, so memory stays
 * bounded, the client always ends on the newest image, and the model never waits for the network.
 */
final class Outbox {
    private final Session session;
    private boolean writing;     // guarded by this
    private Pending waiting;     // guarded by this
    private long dropped;        // guarded by this

    private record Pending(String header, byte[] jpeg, Runnable onSent) {}

    Outbox(Session session) {
        this.session = session;
    }

    synchronized void text(String json) {
        if (session.isOpen()) session.sendText(json, Callback.NOOP);
    }

    /**
     * Sends a frame's header and image, or keeps it as the next one when a frame is being written.
     *
     * @param onSent called once the image is written
     */
    synchronized void frame(String header, byte[] jpeg, Runnable onSent) {
        if (!session.isOpen()) {
            dropped++;
            return;
        }
        if (writing) {
            if (waiting != null) dropped++;
            waiting = new Pending(header, jpeg, onSent);
            return;
        }
        write(new Pending(header, jpeg, onSent));
    }

    private void write(Pending p) {
        writing = true;
        session.sendText(p.header(), Callback.NOOP);
        session.sendBinary(ByteBuffer.wrap(p.jpeg()), Callback.from(() -> written(p), x -> written(null)));
    }

    private void written(Pending done) {
        if (done != null) done.onSent().run();
        synchronized (this) {
            writing = false;
            Pending next = waiting;
            waiting = null;
            if (next != null) {
                if (session.isOpen()) write(next);
                else dropped++;
            }
        }
    }

    /** Frames dropped because the client could not take them as fast as they were made. */
    synchronized long dropped() {
        return dropped;
    }

    synchronized void close(int code, String reason) {
        if (session.isOpen()) session.close(code, reason, Callback.NOOP);
    }
}
