package io.streamdiffusion4j.web;

/**
 * Why a session ends, what its client is told, and the WebSocket close code.
 *
 * @param message shown to the user; null when the client itself closed
 */
record Ending(String reason, int closeCode, String message) {
    static final int NORMAL = 1000;
    static final int GOING_AWAY = 1001;
    static final int POLICY_VIOLATION = 1008;
    static final int SERVER_ERROR = 1011;
    static final int TRY_AGAIN_LATER = 1013;

    static final String IDLE = "idle";
    static final String TOO_MANY_ERRORS = "too many protocol errors";
    static final String NOT_READING = "client not reading";
    static final String REFUSED = "refused message";
    static final String FAILED = "error";
    static final String DRAINING = "draining";

    static Ending clientClosed() {
        return new Ending("closed", NORMAL, null);
    }

    static Ending timeout(long seconds) {
        return new Ending("timeout", NORMAL, "Your session has ended: sessions on this server last at most " + seconds
                + " s. Start again to continue.");
    }

    static Ending idle(long seconds) {
        return new Ending(IDLE, NORMAL, "Your session has ended: nothing came from this page for " + seconds
                + " s (no frame, no settings), and idle sessions are ended to free their place. Start again to continue.");
    }

    /** The client kept sending messages the server refuses (more than its error budget). */
    static Ending tooManyErrors(int budget, String last) {
        return new Ending(TOO_MANY_ERRORS, POLICY_VIOLATION, "Your session has ended: more than " + budget
                + " refused messages in a short time. The last one: " + last);
    }

    /** The client does not read what the server sends, so nothing more is queued for it. */
    static Ending notReading() {
        return new Ending(NOT_READING, POLICY_VIOLATION, "Your session has ended: the page stopped reading the server's messages.");
    }

    /** One refused message ends the session (the original demo's protocol, whose page takes any error as the end). */
    static Ending refused(String why) {
        return new Ending(REFUSED, POLICY_VIOLATION, why);
    }

    static Ending shutdown() {
        return new Ending("shutdown", GOING_AWAY, "The server is shutting down.");
    }

    static Ending failed(String why) {
        return new Ending(FAILED, SERVER_ERROR, "The image pipeline failed: " + why);
    }

    /**
     * The server is stopping (SIGTERM) and lets its sessions finish the frames they have in the
     * pipeline first. Where several servers share an address, a new session lands on one that is
     * up, so the page is told to start again.
     */
    static Ending draining() {
        return new Ending(DRAINING, GOING_AWAY, "This server is shutting down. Start again (or reload the page) to"
                + " reconnect: where several servers share this address, you will be connected to one that is up.");
    }

    /** A session refused because the server is draining. */
    static Ending refusedWhileDraining() {
        return new Ending(DRAINING, TRY_AGAIN_LATER, "This server is shutting down and takes no new sessions. Reload the"
                + " page in a few seconds: where several servers share this address, you will be connected to one that is up.");
    }

    /** Whether the session's pipeline finishes its frames in flight, and sends them, before the client is told. */
    boolean finishesFramesFirst() {
        return reason.equals(DRAINING);
    }

    /** Whether the page should start a new session (on another server) rather than give up. */
    boolean reconnect() {
        return reason.equals(DRAINING);
    }
}
