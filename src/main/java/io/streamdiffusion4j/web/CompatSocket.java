package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.image.RgbImage;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The original realtime-img2img demo's WebSocket, {@code /api/ws/{user_id}}, so its front end
 * works against this server unchanged. On connect: {@code connected}, {@code wait},
 * {@code send_frame}. For each {@code send_frame} the client sends {@code {"status":"next_frame"}},
 * its parameters as JSON, then the JPEG. The MJPEG response of {@code /api/stream/{user_id}}
 * drives the loop, one frame at a time as in the original: ask for a frame, take the newest,
 * generate, write. Unlike the original, each user id has its own pipeline, so tabs never mix.
 *
 * <p>As in the original, the user is registered as soon as the socket exists (before the
 * pipeline is built and {@code connected} is sent), so a stream request made right after the
 * handshake finds it and waits for the session to open. A refused message ends the session with
 * {@code {"status":"error"}} and a close, as the original does (it disconnects on any
 * exception): the original page takes any error as the end of the session, and answering and
 * asking for the next frame would make it loop.
 */
public final class CompatSocket extends SessionSocket {

    /** A client frame with the parameters sent with it. */
    record Input(RgbImage image, StreamSettings settings, long seq) {}

    private enum Expect { NEXT_FRAME, PARAMS, IMAGE }

    private final UUID user;
    private final CompatUsers users;
    private final SettingsParser parser;
    private final LinkedBlockingQueue<GeneratedFrame> outputs = new LinkedBlockingQueue<>();
    private final Object inputLock = new Object();
    private Input latest; // guarded by inputLock
    private Expect expect = Expect.NEXT_FRAME;
    private StreamSettings params;
    private long seq;
    private volatile ImageSession session;
    private boolean streaming; // guarded by this
    private final CountDownLatch greeted = new CountDownLatch(1);

    CompatSocket(ServerContext ctx, CompatUsers users, UUID user) {
        super(ctx);
        this.user = user;
        this.users = users;
        this.parser = ctx.factory().parser(true);
    }

    @Override
    protected String kind() {
        return "compat";
    }

    @Override
    protected String sessionId() {
        return user.toString();
    }

    @Override
    protected SessionPipeline openPipeline() throws Exception {
        params = ctx.factory().initialSettings();
        session = new ImageSession(ctx.factory(), params, ctx.codec(), outputs::add,
                s -> ctx.events().settingsApplied(user.toString(), s), ctx.metrics());
        return session;
    }

    @Override
    protected void released() {
        users.remove(user, this);
        greeted.countDown();
        synchronized (inputLock) {
            inputLock.notifyAll();
        }
    }

    @Override
    protected void greet() {
        outbox.text(status("connected", "Connected"));
        outbox.text(status("wait", null));
        requestFrame();
        greeted.countDown();
    }

    /** Waits until the session has opened (true) or ended (false). */
    boolean awaitOpen(long millis) throws InterruptedException {
        return greeted.await(millis, TimeUnit.MILLISECONDS) && !hasEnded();
    }

    /** Gives up on a socket whose WebSocket never opened, so its user id is free again. */
    void forgetIfNeverOpened() {
        abandonIfNeverOpened();
    }

    /** Asks the client for its next frame. */
    void requestFrame() {
        outbox.text(status("send_frame", null));
    }

    @Override
    protected void onText(String text) throws ProtocolException {
        JsonNode m = Messages.parse(text);
        switch (expect) {
            case NEXT_FRAME -> {
                if (!"next_frame".equals(m.path("status").asText())) {
                    throw new ProtocolException("bad_message", "expected {\"status\": \"next_frame\"}, then the parameters,"
                            + " then the JPEG");
                }
                expect = Expect.PARAMS;
            }
            case PARAMS -> {
                params = parser.merge(params, m, true);
                expect = Expect.IMAGE;
            }
            case IMAGE -> {
                expect = Expect.NEXT_FRAME;
                throw new ProtocolException("bad_message", "expected the frame's JPEG as a binary message");
            }
        }
    }

    @Override
    protected void onBinary(byte[] data) throws ProtocolException {
        if (expect != Expect.IMAGE) {
            throw new ProtocolException("bad_message", "send {\"status\": \"next_frame\"} and the parameters before a frame");
        }
        expect = Expect.NEXT_FRAME;
        if (data.length == 0) { // the original's client sends an empty blob before its camera is ready
            requestFrame();
            return;
        }
        RgbImage image = decodeFrame(data);
        if (image == null) return;
        synchronized (inputLock) {
            latest = new Input(image, params, ++seq);
            inputLock.notifyAll();
        }
    }

    /** The newest frame, waiting at most {@code millis} for one; null on timeout or when the session ended. */
    Input takeInput(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        synchronized (inputLock) {
            while (latest == null && !hasEnded()) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) return null;
                inputLock.wait(Math.min(left, 250));
            }
            Input in = latest;
            latest = null;
            return hasEnded() ? null : in;
        }
    }

    /**
     * Generates the image for a frame; null when the session ended first without making it. A
     * session that ends while the frame is in the model (the server draining) still returns it
     * once its pipeline has finished the frame.
     */
    GeneratedFrame generate(Input in) throws InterruptedException {
        if (!in.settings().equals(session.settings())) session.update(in.settings());
        session.submit(in.image(), in.seq());
        while (true) {
            boolean over = hasEnded() && session.closed(); // read before the poll: a frame made before the close is seen
            GeneratedFrame f = outputs.poll(over ? 0 : 250, TimeUnit.MILLISECONDS);
            if (f != null || over) return f;
        }
    }

    /** One MJPEG stream per user (two would take each other's frames). */
    synchronized boolean claimStream() {
        if (streaming) return false;
        streaming = true;
        return true;
    }

    synchronized void releaseStream() {
        streaming = false;
    }

    boolean ended() {
        return hasEnded();
    }

    @Override
    protected String statusMessage() {
        return null;
    }

    @Override
    protected Optional<String> pipelineFailure() {
        return session.failure();
    }

    @Override
    protected String fullMessage() {
        return status("error", "Server is full");
    }

    @Override
    protected String endedMessage(Ending ending) {
        // the original's wording for its timeout; its page shows "Session timed out"
        boolean timedOut = ending.reason().equals("timeout") || ending.reason().equals(Ending.IDLE);
        return timedOut ? status("timeout", "Your session has ended") : status("error", ending.message());
    }

    @Override
    protected String errorMessage(ProtocolException e) {
        return status("error", e.getMessage());
    }

    @Override
    protected boolean endsOnError() {
        return true;
    }

    private static String status(String status, String message) {
        ObjectNode o = Messages.JSON.createObjectNode();
        o.put("status", status);
        if (message != null) o.put("message", message);
        return o.toString();
    }
}
