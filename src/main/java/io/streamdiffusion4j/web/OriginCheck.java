package io.streamdiffusion4j.web;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * Which pages may open a WebSocket here. A browser sends the page's origin with every upgrade,
 * and without this check any web site the user visits could drive the user's session on this
 * server (cross-site WebSocket hijacking). Allowed: the server's own origin (the Host the
 * browser asked for), and the origins given with --allow-origin. An upgrade without an Origin
 * header does not come from a web page (browsers always send one) and is allowed.
 */
final class OriginCheck {
    private final Set<String> allowed;

    OriginCheck(List<String> allowedOrigins) {
        this.allowed = allowedOrigins.stream().map(OriginCheck::parseOrigin).collect(Collectors.toUnmodifiableSet());
    }

    boolean allows(Request request) {
        String origin = request.getHeaders().get(HttpHeader.ORIGIN);
        if (origin == null) return true;
        String normalized;
        try {
            normalized = parseOrigin(origin);
        } catch (IllegalArgumentException e) {
            return false; // "null" (sandboxed pages, files) and anything malformed
        }
        if (allowed.contains(normalized)) return true;
        String scheme = request.isSecure() ? "https" : "http";
        String own = scheme + "://" + Request.getServerName(request).toLowerCase(Locale.ROOT) + ":" + Request.getServerPort(request);
        return normalized.equals(own);
    }

    /** scheme://host:port with the default port made explicit; IllegalArgumentException when not an origin. */
    static String parseOrigin(String origin) {
        URI u;
        try {
            u = new URI(origin.strip());
        } catch (Exception e) {
            throw new IllegalArgumentException("not an origin (scheme://host[:port]): " + origin);
        }
        String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null
                || (u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/"))
                || u.getRawQuery() != null || u.getUserInfo() != null) {
            throw new IllegalArgumentException("not an origin (scheme://host[:port]): " + origin);
        }
        int port = u.getPort() != -1 ? u.getPort() : (scheme.equals("https") ? 443 : 80);
        return scheme + "://" + u.getHost().toLowerCase(Locale.ROOT) + ":" + port;
    }
}
