package io.streamdiffusion4j.web;

/**
 * A client message the server refuses: answered with an error message that carries the code and
 * the reason, and the session goes on.
 */
final class ProtocolException extends Exception {
    private final String code;

    ProtocolException(String code, String message) {
        super(message);
        this.code = code;
    }

    String code() {
        return code;
    }
}
