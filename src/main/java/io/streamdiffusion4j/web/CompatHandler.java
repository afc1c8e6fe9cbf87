package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.random.TorchSeed;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The original realtime-img2img demo's HTTP API: {@code GET /api/settings} (pydantic-style
 * schemas its front end renders its controls from), {@code GET /api/queue} (sessions in use) and
 * {@code GET /api/stream/{user_id}} (the user's images as {@code multipart/x-mixed-replace}
 * JPEGs). Other paths under /api/ are 404; everything else is left to the static files.
 */
final class CompatHandler extends Handler.Abstract {
    private static final Logger LOG = LoggerFactory.getLogger(CompatHandler.class);
    private static final String PAGE_CONTENT = """
            <h1 class="text-3xl font-bold">StreamDiffusion</h1>
            <h3 class="text-xl font-bold">Image-to-Image, served by streamdiffusion4j</h3>
            <p class="text-sm">Each browser tab has its own pipeline; the models are shared.</p>
            """;

    private final ServerContext ctx;
    private final CompatUsers users;

    CompatHandler(ServerContext ctx, CompatUsers users) {
        this.ctx = ctx;
        this.users = users;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        if (!path.startsWith("/api/")) return false;
        if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
            json(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, detail("Method Not Allowed"));
            return true;
        }
        // While loading or draining every call is a plain 503, which a reverse proxy in front of
        // several servers retries on another: the settings a page starts from, and a stream (a
        // user here is being ended; a stream already open goes on until its session ends).
        boolean stream = path.startsWith("/api/stream/");
        if (!ctx.state().acceptsSessions()) {
            json(response, callback, HttpStatus.SERVICE_UNAVAILABLE_503, detail(capitalized(ctx.state().refusal())));
            return true;
        }
        if (path.equals("/api/settings")) {
            json(response, callback, 200, settings().toString());
        } else if (path.equals("/api/queue")) {
            json(response, callback, 200, "{\"queue_size\":" + ctx.registry().active() + "}");
        } else if (stream) {
            stream(path.substring("/api/stream/".length()), response, callback);
        } else {
            json(response, callback, 404, detail("Not Found"));
        }
        return true;
    }

    private static String capitalized(String text) {
        return Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }

    private static String detail(String text) {
        ObjectNode o = Messages.JSON.createObjectNode();
        o.put("detail", text);
        return o.toString();
    }

    private static void json(Response response, Callback callback, int status, String body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
    }

    /** The pydantic {@code .schema()} shapes the original front end reads. */
    private ObjectNode settings() {
        StreamSettings d = ctx.factory().initialSettings();
        ObjectNode root = Messages.JSON.createObjectNode();
        ObjectNode info = root.putObject("info");
        info.put("title", "Info");
        info.put("type", "object");
        ObjectNode ip = info.putObject("properties");
        prop(ip, "name", "Name", "string").put("default", "StreamDiffusion img2img");
        prop(ip, "input_mode", "Input Mode", "string").put("default", "image");
        prop(ip, "page_content", "Page Content", "string").put("default", PAGE_CONTENT);

        ObjectNode params = root.putObject("input_params");
        params.put("title", "InputParams");
        params.put("type", "object");
        ObjectNode pp = params.putObject("properties");
        prop(pp, "prompt", "Prompt", "string").put("default", d.prompt()).put("field", "textarea").put("id", "prompt");
        prop(pp, "negative_prompt", "Negative Prompt", "string").put("default", d.negativePrompt()).put("field", "textarea")
                .put("id", "negative_prompt").put("hide", true);
        ObjectNode strength = prop(pp, "strength", "Strength", "string").put("default", ctx.factory().presets().nameOf(d.tIndexList()))
                .put("field", "select").put("id", "strength");
        ArrayNode values = strength.putArray("values");
        ctx.factory().presets().names().forEach(values::add);
        prop(pp, "guidance_scale", "Guidance Scale", "number").put("default", d.guidanceScale()).put("min", 0).put("max", 2)
                .put("step", 0.05).put("field", "range").put("id", "guidance_scale").put("hide", true);
        prop(pp, "delta", "Delta", "number").put("default", d.delta()).put("min", 0).put("max", 1.5).put("step", 0.05)
                .put("field", "range").put("id", "delta").put("hide", true);
        prop(pp, "seed", "Seed", "integer").put("default", TorchSeed.unsigned(d.seed())).put("min", TorchSeed.MIN).put("max", TorchSeed.MAX)
                .put("field", "seed").put("id", "seed").put("hide", true);
        prop(pp, "width", "Width", "integer").put("default", ctx.factory().width()).put("min", 2).put("max", 15)
                .put("disabled", true).put("hide", true).put("id", "width");
        prop(pp, "height", "Height", "integer").put("default", ctx.factory().height()).put("min", 2).put("max", 15)
                .put("disabled", true).put("hide", true).put("id", "height");

        root.put("max_queue_size", ctx.registry().max());
        root.put("page_content", PAGE_CONTENT);
        return root;
    }

    private static ObjectNode prop(ObjectNode properties, String key, String title, String type) {
        ObjectNode p = properties.putObject(key);
        p.put("title", title);
        p.put("type", type);
        return p;
    }

    private void stream(String segment, Response response, Callback callback) {
        Optional<CompatSocket> user = CompatUsers.parseId(segment).flatMap(users::get);
        if (user.isEmpty()) {
            json(response, callback, 404, detail("User not found"));
            return;
        }
        CompatSocket socket = user.get();
        if (!socket.claimStream()) {
            json(response, callback, HttpStatus.CONFLICT_409, detail("This user already has a stream open"));
            return;
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "multipart/x-mixed-replace;boundary=frame");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        // The loop blocks (waiting for the client's frame, then for the model), so it gets its own thread.
        Thread.ofPlatform().daemon().name("sd4j-compat-stream").start(() -> {
            try {
                try (OutputStream out = Content.Sink.asOutputStream(response)) {
                    // the request may come before the WebSocket has opened (the page asks at once)
                    long openBy = System.nanoTime() + WebServer.UPGRADE_GRACE.toNanos();
                    while (!socket.awaitOpen(250)) {
                        if (socket.ended() || System.nanoTime() > openBy) throw new IllegalStateException("the session never opened");
                    }
                    long minGap = (long) (1e9 / ctx.options().maxFps());
                    long lastAsk = System.nanoTime() - minGap;
                    while (!socket.ended()) {
                        // ask no faster than the session's frame rate limit, so the page is never refused for it
                        long wait = lastAsk + minGap - System.nanoTime();
                        if (wait > 0) Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
                        lastAsk = System.nanoTime();
                        socket.requestFrame();
                        CompatSocket.Input in = socket.takeInput(1000); // re-asks when a frame was lost or dropped
                        if (in == null) continue;
                        GeneratedFrame f = socket.generate(in);
                        if (f == null) break;
                        out.write(("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + f.jpeg().length + "\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                        out.write(f.jpeg());
                        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        ctx.events().frameSent(socket.sessionId(), f.seq(), f.source(), f.jpeg());
                    }
                }
                callback.succeeded(); // the last part is written and the response closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                callback.failed(e);
            } catch (Exception e) {
                LOG.debug("stream of {} ended: {}", segment, e.toString()); // usually the browser went away
                callback.failed(e);
            } finally {
                socket.releaseStream();
            }
        });
    }
}
