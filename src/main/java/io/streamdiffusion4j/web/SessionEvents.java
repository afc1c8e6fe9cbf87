package io.streamdiffusion4j.web;

/**
 * What happens to sessions, for a log or a test. Called on the server's threads; implementations
 * must be thread-safe and quick.
 */
public interface SessionEvents {
    SessionEvents NONE = new SessionEvents() {};

    /** A session got its pipeline; {@code kind} is img2img, txt2img or compat. */
    default void opened(String session, String kind) {}

    /** New settings are in the session's pipeline (called on the thread that runs it). */
    default void settingsApplied(String session, StreamSettings settings) {}

    /** An image was handed to the session's client. */
    default void frameSent(String session, long seq, long source, byte[] jpeg) {}

    /** The session ended: closed by the client, timed out, failed or shut down. */
    default void ended(String session, String reason) {}
}
