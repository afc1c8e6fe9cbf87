package io.streamdiffusion4j.web;

/**
 * Why a session ends, what its client is told, and the WebSocket close code.
 *
 * @param message shown to the user; null when the client itself closed
 */
record Ending(String reason, int closeCode, String message) {
    static final int NORMAL = 1000;
    static final int GOING_AWAY = 1001;
    static final int SERVER_ERROR = 1011;
    static final int TRY_AGAIN_LATER = 1013;

    static Ending clientClosed() {
        return new Ending("closed", NORMAL, null);
    }

    static Ending timeout(long seconds) {
        return new Ending("timeout", NORMAL, "Your session has ended: sessions on this server last at most " + seconds
                + " s. Start again to continue.");
    }

    static Ending shutdown() {
        return new Ending("shutdown", GOING_AWAY, "The server is shutting down.");
    }

    static Ending failed(String why) {
        return new Ending("error", SERVER_ERROR, "The image pipeline failed: " + why);
    }
}
