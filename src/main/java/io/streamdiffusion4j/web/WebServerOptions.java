package io.streamdiffusion4j.web;

import io.streamdiffusion4j.image.ImageSizeLimit;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Where the web server listens and the limits it enforces on every client.
 *
 * @param host address to bind; 127.0.0.1 keeps the server on this machine
 * @param port TCP port, 0 for any free one
 * @param maxSessions sessions (browser tabs, original-demo users) open at once, across all pages
 * @param sessionTimeout how long a session may last; {@link Duration#ZERO} for no limit
 * @param maxMessageBytes the largest WebSocket message accepted; a larger one closes the socket (1009)
 * @param maxFrameSide the largest width or height of an input frame, checked before decoding
 * @param maxFps input frames per second a session may send; faster frames are dropped with an error
 * @param accessToken when set, every request must carry it (query, cookie or bearer header)
 * @param allowedOrigins origins allowed to open WebSockets besides the server's own
 * @param webRoot a folder served instead of the built-in page (for the original demo's front end), or null
 */
public record WebServerOptions(
        String host,
        int port,
        int maxSessions,
        Duration sessionTimeout,
        int maxMessageBytes,
        int maxFrameSide,
        double maxFps,
        String accessToken,
        List<String> allowedOrigins,
        Path webRoot) {

    public WebServerOptions {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], found " + port);
        if (maxSessions < 1) throw new IllegalArgumentException("max sessions must be at least 1, found " + maxSessions);
        if (sessionTimeout == null || sessionTimeout.isNegative()) {
            throw new IllegalArgumentException("session timeout must be zero (no limit) or positive, found " + sessionTimeout);
        }
        if (maxMessageBytes < 1024) {
            throw new IllegalArgumentException("max message size must be at least 1024 bytes, found " + maxMessageBytes);
        }
        new ImageSizeLimit(maxFrameSide); // checks it
        if (!(maxFps > 0 && maxFps <= 1000)) throw new IllegalArgumentException("max fps must be in (0, 1000], found " + maxFps);
        if (accessToken != null && accessToken.length() < 8) {
            throw new IllegalArgumentException("the access token must have at least 8 characters");
        }
        allowedOrigins = List.copyOf(allowedOrigins);
        for (String o : allowedOrigins) OriginCheck.parseOrigin(o); // fails early on a malformed origin
    }

    /** Local only, port 7860 (as the original demo), 4 sessions, no timeout, 4 MiB messages, 2048 px, 30 fps. */
    public static WebServerOptions defaults() {
        return new WebServerOptions("127.0.0.1", 7860, 4, Duration.ZERO, 4 << 20, ImageSizeLimit.DEFAULT_FRAME_SIDE, 30, null,
                List.of(), null);
    }

    /** The size limit input frames are decoded under. */
    public ImageSizeLimit frameLimit() {
        return new ImageSizeLimit(maxFrameSide);
    }

    public WebServerOptions withHost(String v) {
        return new WebServerOptions(v, port, maxSessions, sessionTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withPort(int v) {
        return new WebServerOptions(host, v, maxSessions, sessionTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withMaxSessions(int v) {
        return new WebServerOptions(host, port, v, sessionTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withSessionTimeout(Duration v) {
        return new WebServerOptions(host, port, maxSessions, v, maxMessageBytes, maxFrameSide, maxFps, accessToken,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withMaxMessageBytes(int v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, v, maxFrameSide, maxFps, accessToken,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withMaxFrameSide(int v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, maxMessageBytes, v, maxFps, accessToken,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withMaxFps(double v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, maxMessageBytes, maxFrameSide, v, accessToken,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withAccessToken(String v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, maxMessageBytes, maxFrameSide, maxFps, v,
                allowedOrigins, webRoot);
    }

    public WebServerOptions withAllowedOrigins(List<String> v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken,
                v, webRoot);
    }

    public WebServerOptions withWebRoot(Path v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken,
                allowedOrigins, v);
    }

    /** Whether the bind address is reachable only from this machine. */
    public boolean loopbackOnly() {
        return host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1") || host.startsWith("127.");
    }
}
