package io.streamdiffusion4j.web;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The probes of a process manager or load balancer: {@code GET /healthz} is 200 while the
 * process serves HTTP at all (loading included: a liveness probe must not kill a server that is
 * still loading its models), {@code GET /readyz} is 200 only when sessions can start (models
 * loaded and warmed up, not draining) and 503 otherwise, with the phase as the body. They tell
 * nothing about the server's use, so they are answered before the access token is asked for:
 * probes carry no token.
 */
final class HealthEndpoints extends Handler.Wrapper {
    static final String HEALTH = "/healthz";
    static final String READY = "/readyz";

    private final ServerState state;

    HealthEndpoints(ServerState state, Handler next) {
        super(next);
        this.state = state;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        boolean health = path.equals(HEALTH);
        if (!health && !path.equals(READY)) return super.handle(request, response, callback);
        if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
            Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "GET " + path + " only");
            return true;
        }
        ServerState.Phase phase = state.phase();
        boolean ok = health || phase == ServerState.Phase.READY;
        String body = health ? "alive\n" : phase.name().toLowerCase(Locale.ROOT) + "\n";
        response.setStatus(ok ? HttpStatus.OK_200 : HttpStatus.SERVICE_UNAVAILABLE_503);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        ByteBuffer bytes = HttpMethod.HEAD.is(request.getMethod()) ? ByteBuffer.allocate(0)
                : ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8));
        response.write(true, bytes, callback);
        return true;
    }
}
