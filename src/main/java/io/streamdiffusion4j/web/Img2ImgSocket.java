package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The page's img2img session at {@code /ws}. Client to server: binary JPEG frames (numbered
 * 1, 2, ... in the order sent), {@code {"type":"settings", ...}} and, with an IP-Adapter, a
 * style image ({@link StyleImageUpload}: a style_image message, then the image as one binary
 * message that is not a frame). Server to client: hello (session id, the size to send, limits,
 * settings, strength presets, and {@code ip_adapter} when the server runs one), settings (the
 * accepted settings), a {@code frame} header before each generated JPEG naming the input frame it
 * came from, style_image (a style image is in the pipeline), status every second, error (the
 * session goes on), full, ended.
 */
public final class Img2ImgSocket extends SessionSocket {
    private final SettingsParser parser;
    private final AtomicLong framesReceived = new AtomicLong();
    private final StyleImageUpload style;
    private volatile String id;
    private volatile ImageSession session;

    Img2ImgSocket(ServerContext ctx) {
        super(ctx);
        this.parser = ctx.factory().parser(true);
        this.style = StyleImageUpload.of(ctx);
    }

    @Override
    protected String kind() {
        return "img2img";
    }

    @Override
    protected String sessionId() {
        return id;
    }

    @Override
    protected SessionPipeline openPipeline() throws Exception {
        id = java.util.UUID.randomUUID().toString();
        session = new ImageSession(ctx.factory(), ctx.factory().initialSettings(), ctx.codec(), this::send,
                s -> ctx.events().settingsApplied(id, s), ctx.metrics());
        return session;
    }

    private void send(GeneratedFrame f) {
        outbox.frame(Messages.frame(id, f, "input_seq"), f.jpeg(), () -> ctx.events().frameSent(id, f.seq(), f.source(), f.jpeg()));
    }

    @Override
    protected void greet() {
        ObjectNode o = Messages.object("hello");
        o.put("session", id);
        o.put("mode", "img2img");
        o.put("width", ctx.factory().width());
        o.put("height", ctx.factory().height());
        o.put("max_fps", ctx.options().maxFps());
        o.put("max_message_bytes", ctx.options().maxMessageBytes());
        o.put("max_frame_side", ctx.options().maxFrameSide());
        o.put("session_timeout_s", ctx.options().sessionTimeout().toSeconds());
        o.set("settings", session.settings().toJson(parser.presets()));
        ObjectNode strengths = o.putObject("strengths");
        for (String n : parser.presets().names()) {
            var a = strengths.putArray(n);
            parser.presets().get(n).forEach(a::add);
        }
        o.set("limits", Messages.JSON.valueToTree(parser.limits()));
        ObjectNode ip = StyleImageUpload.hello(ctx.factory(), session.settings(), ctx.options());
        if (ip != null) o.set("ip_adapter", ip);
        outbox.text(o.toString());
    }

    @Override
    protected void onText(String text) throws ProtocolException {
        JsonNode m = Messages.parse(text);
        String type = m.path("type").asText("");
        switch (type) {
            case "settings" -> {
                StreamSettings next = parser.merge(session.settings(), m);
                session.update(next);
                outbox.text(Messages.settings(next, parser.presets()));
            }
            case StyleImageUpload.TYPE -> {
                if (style.announce(m) instanceof StyleImageUpload.Clear) setStyle(null);
            }
            case "" -> throw new ProtocolException("bad_message", "messages need a \"type\" (settings, style_image)");
            default -> throw new ProtocolException("bad_message", "unknown message type \""
                    + SettingsParser.abbreviate(type) + "\"; this session takes settings and style_image messages and binary"
                    + " JPEG frames");
        }
    }

    @Override
    protected void onBinary(byte[] data) throws ProtocolException {
        if (style.expectsImage()) {
            RgbImage image = style.receive(data);
            if (image != null) setStyle(image);
            return;
        }
        long seq = framesReceived.incrementAndGet();
        RgbImage image = decodeFrame(data);
        if (image != null) session.submit(image, seq);
    }

    /** Encodes the style image here, on this socket's thread, and hands the session its tokens. */
    private void setStyle(RgbImage image) throws ProtocolException {
        FloatTensor tokens = StyleImageUpload.encode(ctx.factory(), image);
        session.updateStyle(tokens, () -> outbox.text(StyleImageUpload.applied(image)));
    }

    @Override
    protected String statusMessage() {
        ObjectNode o = Messages.status(session.telemetry());
        o.put("frames_received", framesReceived.get());
        o.put("dropped", session.replacedFrames() + rateLimited + outbox.dropped());
        return o.toString();
    }

    @Override
    protected Optional<String> pipelineFailure() {
        return session.failure();
    }

    @Override
    protected String fullMessage() {
        return Messages.full(ctx.registry().max());
    }

    @Override
    protected String endedMessage(Ending ending) {
        return Messages.ended(ending);
    }

    @Override
    protected String errorMessage(ProtocolException e) {
        return Messages.error(e.code(), e.getMessage());
    }
}
