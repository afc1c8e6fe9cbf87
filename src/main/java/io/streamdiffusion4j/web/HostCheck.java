package io.streamdiffusion4j.web;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Refuses requests whose Host header names another server (421), on every route: pages, API and
 * WebSocket upgrades. Without this, DNS rebinding turns any web site into a local client: the
 * attacker's name resolves first to its own server, then to 127.0.0.1, and the browser sends the
 * attacker's pages' requests here with {@code Host: evil.example} and a matching Origin, which
 * the origin check alone accepts. A browser only sends a Host that the user's page was loaded
 * from, so the Host is checked against the names that can reach this server honestly:
 * localhost, 127.0.0.1, [::1], the bound address, any IP literal when bound to every interface
 * (an IP address cannot be rebound), and the names given with --allow-host; on the server's
 * own port, unless an allowed name gives none. A request without Host (HTTP/1.0, not a
 * browser) is allowed.
 */
final class HostCheck extends Handler.Wrapper {
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9.-]*[a-z0-9])?");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Set<String> LOOPBACK = Set.of("localhost", "127.0.0.1", "[::1]");

    /** An allowed name, with the only port it may come with, or -1 for any. */
    record Allowed(String host, int port) {}

    private final String boundHost;
    private final boolean wildcard;
    private final List<Allowed> allowed;
    private final IntSupplier port;

    /**
     * @param bindAddress the address the connector listens on
     * @param port the port bound (read per request: it is known only once the server started)
     */
    HostCheck(String bindAddress, List<String> allowedHosts, IntSupplier port, Handler next) {
        super(next);
        String b = bindAddress.toLowerCase(Locale.ROOT);
        this.wildcard = b.equals("0.0.0.0") || b.equals("::") || b.equals("[::]") || b.isEmpty();
        this.boundHost = b.contains(":") && !b.startsWith("[") ? "[" + b + "]" : b;
        this.allowed = allowedHosts.stream().map(HostCheck::parseAllowed).toList();
        this.port = port;
    }

    /** "name" or "name:port" from --allow-host; IllegalArgumentException when it is neither. */
    static Allowed parseAllowed(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        Allowed a = split(t);
        if (a == null || a.host().isEmpty() || !(NAME.matcher(a.host()).matches() || a.host().startsWith("["))) {
            throw new IllegalArgumentException("--allow-host takes a host name or name:port (e.g. studio.lan or studio.lan:8080),"
                    + " found \"" + text + "\"");
        }
        return a;
    }

    /** Host and port of a Host header value; port -1 when absent; null when malformed. */
    private static Allowed split(String value) {
        String host;
        String portText = null;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0) return null;
            host = value.substring(0, close + 1);
            String rest = value.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) return null;
                portText = rest.substring(1);
            }
        } else {
            int colon = value.indexOf(':');
            host = colon < 0 ? value : value.substring(0, colon);
            if (colon >= 0) portText = value.substring(colon + 1);
        }
        int p = -1;
        if (portText != null) {
            if (portText.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(Character::isDigit)) return null;
            p = Integer.parseInt(portText);
            if (p > 65535) return null;
        }
        if (host.endsWith(".")) host = host.substring(0, host.length() - 1); // "localhost." is localhost
        return new Allowed(host, p);
    }

    /** Whether a request with this Host header value may be served. */
    boolean allows(String hostHeader) {
        if (hostHeader == null) return true;
        Allowed h = split(hostHeader.strip().toLowerCase(Locale.ROOT));
        if (h == null) return false;
        int own = port.getAsInt();
        int given = h.port() == -1 ? 80 : h.port();
        for (Allowed a : allowed) {
            if (a.host().equals(h.host()) && (a.port() == -1 || a.port() == given)) return true;
        }
        if (given != own) return false;
        if (LOOPBACK.contains(h.host()) || h.host().equals(boundHost)) return true;
        return wildcard && (IPV4.matcher(h.host()).matches() || h.host().startsWith("["));
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String host = request.getHeaders().get(HttpHeader.HOST);
        if (!allows(host)) {
            Response.writeError(request, response, callback, HttpStatus.MISDIRECTED_REQUEST_421,
                    "This server does not answer to the host name \"" + SettingsParser.abbreviate(String.valueOf(host))
                            + "\"; use localhost or its address, or start it with --allow-host NAME");
            return true;
        }
        return super.handle(request, response, callback);
    }
}
