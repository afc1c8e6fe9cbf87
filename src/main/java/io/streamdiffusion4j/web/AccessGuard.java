package io.streamdiffusion4j.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Requires the access token, when the server has one, on every request: pages, API and WebSocket
 * upgrades. The user opens {@code http://host:port/?token=...} once; the answer sets an HttpOnly,
 * SameSite=Strict cookie that the page's later requests (and its WebSocket upgrades) carry. API
 * clients may send {@code Authorization: Bearer ...} instead.
 */
final class AccessGuard extends Handler.Wrapper {
    static final String COOKIE = "sd4j_token";

    private final byte[] token;

    AccessGuard(String token, Handler next) {
        super(next);
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String fromQuery = Request.extractQueryParameters(request).getValue("token");
        if (matches(fromQuery)) {
            Response.addCookie(response, HttpCookie.build(COOKIE, fromQuery).path("/").httpOnly(true)
                    .sameSite(HttpCookie.SameSite.STRICT).build());
            return super.handle(request, response, callback);
        }
        String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (auth != null && auth.startsWith("Bearer ") && matches(auth.substring(7).strip())) {
            return super.handle(request, response, callback);
        }
        for (HttpCookie c : Request.getCookies(request)) {
            if (c.getName().equals(COOKIE) && matches(c.getValue())) return super.handle(request, response, callback);
        }
        Response.writeError(request, response, callback, HttpStatus.UNAUTHORIZED_401,
                "This server needs its access token: open it as /?token=... (the token was set with --access-token)");
        return true;
    }

    private boolean matches(String given) {
        // constant time: the comparison must not tell how much of a guess was right
        return given != null && MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
    }
}
