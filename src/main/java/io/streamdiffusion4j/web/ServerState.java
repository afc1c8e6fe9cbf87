package io.streamdiffusion4j.web;

import java.util.Objects;

/**
 * Where the server is in its life, the one answer to "may a session start now?" and to
 * {@code /readyz}: loading (listening, but the models are still being loaded and warmed up),
 * ready, or draining (stopping: no new sessions, the open ones are finishing). Draining is final.
 */
final class ServerState {
    enum Phase { LOADING, READY, DRAINING }

    private Phase phase = Phase.LOADING; // guarded by this
    private StreamFactory factory;       // guarded by this

    /** The models are loaded and warmed up: sessions may start (unless the server is already draining). */
    synchronized void ready(StreamFactory factory) {
        this.factory = Objects.requireNonNull(factory, "factory");
        if (phase == Phase.LOADING) phase = Phase.READY;
    }

    /** Stops taking sessions for good; false when the server was already draining. */
    synchronized boolean drain() {
        if (phase == Phase.DRAINING) return false;
        phase = Phase.DRAINING;
        return true;
    }

    synchronized Phase phase() {
        return phase;
    }

    synchronized boolean acceptsSessions() {
        return phase == Phase.READY;
    }

    /** Why a new session or API call is refused now (the text of a 503); only asked when sessions are not accepted. */
    synchronized String refusal() {
        return phase == Phase.DRAINING ? "the server is shutting down and takes no new sessions"
                : "the server is still loading its models";
    }

    /** The sessions' factory; only asked for once sessions have been accepted (ready, then perhaps draining). */
    synchronized StreamFactory factory() {
        if (factory == null) throw new IllegalStateException("the models are still loading");
        return factory;
    }
}
