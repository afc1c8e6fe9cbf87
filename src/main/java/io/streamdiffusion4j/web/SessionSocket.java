package io.streamdiffusion4j.web;

import io.streamdiffusion4j.image.RgbImage;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The life of one WebSocket session, whatever its protocol: a slot from the registry (or the
 * "full" message), the pipeline, a timer for the session timeout and one for status and the idle
 * timeout, errors answered without ending the session (within an error budget), and one clean
 * end however it comes (client, timeout, idle, too many errors, a client that does not read,
 * pipeline failure, shutdown, drain). Subclasses speak the protocols.
 *
 * <p>The error budget: every refused message takes one of {@link #ERROR_BURST} tokens, refilled
 * at {@link #ERRORS_PER_SECOND}; a refused message when none is left ends the session (1008).
 * So a page with a bug gets its errors explained, and a client flooding invalid messages gets
 * at most {@code ERROR_BURST} replies plus one a second before it is disconnected.
 *
 * <p>Jetty calls the listener methods one message at a time per session; timers and pipeline
 * threads call {@link #end} and the outbox, which are thread-safe.
 */
public abstract class SessionSocket implements Session.Listener.AutoDemanding {
    private static final Logger LOG = LoggerFactory.getLogger(SessionSocket.class);
    static final int ERROR_BURST = 30;
    static final double ERRORS_PER_SECOND = 1;

    protected final ServerContext ctx;
    protected Outbox outbox;
    private SessionRegistry.Slot slot;
    private final List<ScheduledFuture<?>> timers = new ArrayList<>();
    private final AtomicBoolean ended = new AtomicBoolean();
    private final RateLimiter rate;
    private final RateLimiter errorBudget;
    /** When the client last sent a message (System.nanoTime); the idle timeout counts from it. */
    private volatile long lastClientMessage;
    private long lastRateError; // Jetty's thread for this session only
    private SessionPipeline pipeline; // guarded by this
    /** Frames dropped for the rate limit (counted on Jetty's thread for this session, read by the status timer). */
    protected volatile long rateLimited;

    protected SessionSocket(ServerContext ctx) {
        this.ctx = ctx;
        long now = System.nanoTime();
        this.rate = new RateLimiter(ctx.options().maxFps(), now);
        this.errorBudget = new RateLimiter(ERRORS_PER_SECOND, ERROR_BURST, now);
        this.lastClientMessage = now;
    }

    /** img2img, txt2img or compat. */
    protected abstract String kind();

    /** The session's id in events and messages. */
    protected abstract String sessionId();

    /** Builds the pipeline; the session has a slot. */
    protected abstract SessionPipeline openPipeline() throws Exception;

    /** First messages after the pipeline is ready. */
    protected abstract void greet();

    /** The message that tells a client the server is full. */
    protected abstract String fullMessage();

    /** The message that tells a client why its session ended. */
    protected abstract String endedMessage(Ending ending);

    /** The message that answers a refused client message. */
    protected abstract String errorMessage(ProtocolException e);

    protected abstract void onText(String text) throws ProtocolException;

    protected abstract void onBinary(byte[] data) throws ProtocolException;

    /** Sent every second while the session runs (nothing when null). */
    protected abstract String statusMessage();

    /** Why the pipeline stopped on its own, if it did. */
    protected abstract Optional<String> pipelineFailure();

    /**
     * Whether one refused message ends the session (after its error message), for a protocol
     * whose client treats any error as the end.
     */
    protected boolean endsOnError() {
        return false;
    }

    /** Called once when the session is over, however it ends (also when it never got a slot). */
    protected void released() {}

    /**
     * Ends a session whose WebSocket never opened (its upgrade failed after the socket was made);
     * nothing when it did open.
     */
    protected final void abandonIfNeverOpened() {
        synchronized (this) {
            if (outbox != null || !ended.compareAndSet(false, true)) return;
        }
        released();
    }

    @Override
    public final void onWebSocketOpen(Session session) {
        synchronized (this) {
            outbox = new Outbox(session, ctx.counters(), ctx.metrics(), () -> end(Ending.notReading()));
            if (ended.get()) { // abandoned: given up on before it opened
                outbox.close(Ending.GOING_AWAY, "gone");
                return;
            }
        }
        Optional<SessionRegistry.Slot> s = ctx.registry().open(this::end);
        if (s.isEmpty()) {
            ended.set(true);
            released();
            if (ctx.state().phase() == ServerState.Phase.DRAINING) {
                Ending refusal = Ending.refusedWhileDraining();
                outbox.text(endedMessage(refusal));
                outbox.close(refusal.closeCode(), "server shutting down");
            } else {
                outbox.text(fullMessage());
                outbox.close(Ending.TRY_AGAIN_LATER, "server full");
            }
            return;
        }
        slot = s.get();
        SessionPipeline pipeline;
        try {
            pipeline = openPipeline();
        } catch (Exception e) {
            LOG.warn("{} session could not start: {}", kind(), e.toString());
            ctx.counters().error(ServerCounters.SESSION_START_FAILED);
            ended.set(true);
            slot.close();
            released();
            outbox.text(endedMessage(Ending.failed(e.getMessage() == null ? e.toString() : e.getMessage())));
            outbox.close(Ending.SERVER_ERROR, "pipeline failed");
            return;
        }
        lastClientMessage = System.nanoTime(); // idle from now: building the pipeline may have taken a while
        synchronized (this) {
            if (!ended.get()) {
                this.pipeline = pipeline;
                timers.add(ctx.timers().scheduleAtFixedRate(this::tick, 1, 1, TimeUnit.SECONDS));
                long timeout = ctx.options().sessionTimeout().toMillis();
                if (timeout > 0) {
                    long seconds = ctx.options().sessionTimeout().toSeconds();
                    timers.add(ctx.timers().schedule(() -> end(Ending.timeout(seconds)), timeout, TimeUnit.MILLISECONDS));
                }
            }
        }
        if (this.pipeline != pipeline) { // ended (shutdown) while the pipeline was being built
            ctx.registry().closeLater(kind() + " session " + sessionId(), pipeline);
            return;
        }
        ctx.counters().opened(kind());
        ctx.events().opened(sessionId(), kind());
        greet();
    }

    private void tick() {
        try {
            long idle = ctx.options().idleTimeout().toNanos();
            if (idle > 0 && System.nanoTime() - lastClientMessage > idle) {
                end(Ending.idle(ctx.options().idleTimeout().toSeconds()));
                return;
            }
            Optional<String> failure = pipelineFailure();
            if (failure.isPresent()) {
                LOG.warn("{} session {} failed: {}", kind(), sessionId(), failure.get());
                end(Ending.failed(failure.get()));
                return;
            }
            String status = statusMessage();
            if (status != null && !ended.get()) outbox.text(status);
        } catch (RuntimeException e) {
            LOG.warn("status of session {} failed: {}", sessionId(), e.toString());
        }
    }

    @Override
    public final void onWebSocketText(String message) {
        lastClientMessage = System.nanoTime();
        if (ended.get()) return;
        try {
            onText(message);
        } catch (ProtocolException e) {
            refused(e);
        } catch (RuntimeException e) {
            LOG.warn("session {}: {}", sessionId(), e.toString());
            refused(new ProtocolException("server_error", e.toString()));
        }
    }

    @Override
    public final void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        byte[] data = new byte[payload.remaining()];
        payload.get(data);
        callback.succeed();
        lastClientMessage = System.nanoTime();
        if (ended.get()) return;
        try {
            onBinary(data);
        } catch (ProtocolException e) {
            refused(e);
        } catch (RuntimeException e) {
            LOG.warn("session {}: {}", sessionId(), e.toString());
            refused(new ProtocolException("server_error", e.toString()));
        }
    }

    /**
     * Answers a refused message, within the error budget. Frames over the rate limit are not
     * counted: their error is already sent at most once a second, and a page pacing itself near
     * the limit must not be ended for jitter.
     */
    private void refused(ProtocolException e) {
        if (endsOnError()) {
            ctx.counters().protocolError(e.code(), true);
            end(Ending.refused(e.getMessage()));
            return;
        }
        if (e.code().equals("rate_limited")) {
            outbox.text(errorMessage(e));
            return;
        }
        boolean withinBudget = errorBudget.tryAcquire(System.nanoTime());
        ctx.counters().protocolError(e.code(), withinBudget);
        if (withinBudget) {
            outbox.text(errorMessage(e));
        } else {
            end(Ending.tooManyErrors(ERROR_BURST, e.getMessage()));
        }
    }

    @Override
    public final void onWebSocketClose(int statusCode, String reason, Callback callback) {
        callback.succeed();
        end(Ending.clientClosed());
    }

    @Override
    public final void onWebSocketError(Throwable cause) {
        LOG.debug("session {}: {}", sessionId(), cause.toString());
        end(Ending.clientClosed());
    }

    /**
     * Ends the session once: frees the slot, tells the client why, closes the socket and (in the
     * background) the pipeline. When the server drains, the pipeline is closed first, so the
     * frames in it are finished and sent before the client is told.
     */
    protected final void end(Ending ending) {
        SessionPipeline p;
        synchronized (this) {
            if (!ended.compareAndSet(false, true)) return;
            timers.forEach(t -> t.cancel(false));
            p = pipeline;
        }
        if (slot != null) slot.close();
        released();
        if (outbox == null) return; // never opened (a failed upgrade): nothing to tell
        // counted before the client is told, so whoever sees the close also sees the count
        ctx.counters().ended(ending);
        ctx.events().ended(sessionId(), ending.reason());
        String what = kind() + " session " + sessionId();
        if (p != null && ending.finishesFramesFirst()) {
            ctx.registry().closeLater(what, p::finishAndClose, () -> tell(ending));
        } else {
            tell(ending);
            if (p != null) ctx.registry().closeLater(what, p);
        }
    }

    private void tell(Ending ending) {
        if (ending.message() != null) outbox.text(endedMessage(ending));
        outbox.close(ending.closeCode(), ending.reason());
    }

    protected final boolean hasEnded() {
        return ended.get();
    }

    /**
     * Checks an input frame against the limits and decodes it: rate (frames over it are dropped,
     * with an error at most once a second), JPEG header, size before decoding.
     *
     * @return the image, or null when the frame was dropped for the rate limit
     */
    protected final RgbImage decodeFrame(byte[] data) throws ProtocolException {
        long now = System.nanoTime();
        if (!rate.tryAcquire(now)) {
            rateLimited++;
            ctx.metrics().dropped(FrameMetrics.RATE_LIMITED, 1);
            if (now - lastRateError > 1_000_000_000L) {
                lastRateError = now;
                throw new ProtocolException("rate_limited", "frames are limited to " + Messages.round1(ctx.options().maxFps())
                        + " per second per session; faster frames are dropped");
            }
            return null;
        }
        return UploadedImage.FRAME.decode(data, ctx.codec(), ctx.options().frameLimit());
    }

}
