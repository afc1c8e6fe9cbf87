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
 * @param idleTimeout how long a session may go without a message from its client (a frame or a
 *                    settings message) before it ends and frees its slot; {@link Duration#ZERO} for no limit
 * @param maxMessageBytes the largest WebSocket message accepted; a larger one closes the socket (1009)
 * @param maxFrameSide the largest width or height of an input frame, checked before decoding
 * @param maxFps input frames per second a session may send; faster frames are dropped with an error
 * @param accessToken when set, every request must carry it (query, cookie or bearer header)
 * @param allowedOrigins origins allowed to open WebSockets besides the server's own
 * @param allowedHosts host names (or name:port) a request's Host header may name besides this
 *                     machine's loopback names and the bound address, for a reverse proxy or a LAN name
 * @param webRoot a folder served instead of the built-in page (for the original demo's front end), or null
 */
public record WebServerOptions(
        String host,
        int port,
        int maxSessions,
        Duration sessionTimeout,
        Duration idleTimeout,
        int maxMessageBytes,
        int maxFrameSide,
        double maxFps,
        String accessToken,
        List<String> allowedOrigins,
        List<String> allowedHosts,
        Path webRoot) {

    /** The default idle timeout: long enough to adjust the camera or think about a prompt, short enough to free a slot soon. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

    public WebServerOptions {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], found " + port);
        if (maxSessions < 1) throw new IllegalArgumentException("max sessions must be at least 1, found " + maxSessions);
        if (sessionTimeout == null || sessionTimeout.isNegative()) {
            throw new IllegalArgumentException("session timeout must be zero (no limit) or positive, found " + sessionTimeout);
        }
        if (idleTimeout == null || idleTimeout.isNegative()) {
            throw new IllegalArgumentException("idle timeout must be zero (no limit) or positive, found " + idleTimeout);
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
        allowedHosts = List.copyOf(allowedHosts);
        for (String h : allowedHosts) HostCheck.parseAllowed(h); // fails early on a malformed name
    }

    /**
     * Local only, port 7860 (as the original demo), 4 sessions, no session limit, idle sessions end
     * after 5 minutes, 4 MiB messages, 2048 px, 30 fps.
     */
    public static WebServerOptions defaults() {
        return new WebServerOptions("127.0.0.1", 7860, 4, Duration.ZERO, DEFAULT_IDLE_TIMEOUT, 4 << 20,
                ImageSizeLimit.DEFAULT_FRAME_SIDE, 30, null, List.of(), List.of(), null);
    }

    /** The size limit input frames are decoded under. */
    public ImageSizeLimit frameLimit() {
        return new ImageSizeLimit(maxFrameSide);
    }

    public WebServerOptions withHost(String v) {
        return new WebServerOptions(v, port, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withPort(int v) {
        return new WebServerOptions(host, v, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withMaxSessions(int v) {
        return new WebServerOptions(host, port, v, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withSessionTimeout(Duration v) {
        return new WebServerOptions(host, port, maxSessions, v, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withIdleTimeout(Duration v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, v, maxMessageBytes, maxFrameSide, maxFps, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withMaxMessageBytes(int v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, idleTimeout, v, maxFrameSide, maxFps, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withMaxFrameSide(int v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, v, maxFps, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withMaxFps(double v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, v, accessToken, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withAccessToken(String v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, v, allowedOrigins, allowedHosts, webRoot);
    }

    public WebServerOptions withAllowedOrigins(List<String> v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken, v, allowedHosts, webRoot);
    }

    public WebServerOptions withAllowedHosts(List<String> v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken, allowedOrigins, v, webRoot);
    }

    public WebServerOptions withWebRoot(Path v) {
        return new WebServerOptions(host, port, maxSessions, sessionTimeout, idleTimeout, maxMessageBytes, maxFrameSide, maxFps, accessToken, allowedOrigins, allowedHosts, v);
    }

    /** Whether the bind address is reachable only from this machine. */
    public boolean loopbackOnly() {
        return host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1") || host.startsWith("127.");
    }
}
