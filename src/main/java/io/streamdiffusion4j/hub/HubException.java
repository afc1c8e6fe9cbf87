package io.streamdiffusion4j.hub;

import java.io.IOException;

/** A Hub download or cache lookup that failed, with the reason as a value so callers need not parse text. */
public final class HubException extends IOException {
    private static final long serialVersionUID = 1L;

    public enum Reason {
        /** The Hub has no such repository, revision or file (or it is private and no token gives access). */
        NOT_FOUND,
        /** The repository needs a token (gated or private) and none was sent, or the token was refused. */
        UNAUTHORIZED,
        /** The Hub could not be reached. */
        NETWORK,
        /** HF_HUB_OFFLINE is set and the cache lacks something needed. */
        OFFLINE_MISSING,
        /** The repository lacks files the pipeline needs. */
        MISSING_COMPONENTS,
        /** A transfer stopped early; the partial file is kept and the next attempt resumes it. */
        INTERRUPTED,
        /** Downloaded or cached bytes do not match the Hub's checksum. */
        CORRUPT,
        /** Not enough free disk space. */
        DISK_FULL,
        /** The Hub answered something this client does not understand. */
        PROTOCOL
    }

    private final Reason reason;

    public HubException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public HubException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
