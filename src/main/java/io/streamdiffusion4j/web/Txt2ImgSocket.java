package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The txt2img page's session at {@code /ws/txt2img}: {@code {"type":"settings", ...}} in (prompt,
 * negative prompt, guidance, delta, seed; the IP-Adapter's scale) and, with an IP-Adapter, a style
 * image as on {@code /ws} ({@link StyleImageUpload}); images out, each after a {@code frame}
 * header whose {@code settings_version} says which settings message (or style image) it reflects.
 */
public final class Txt2ImgSocket extends SessionSocket {
    private final SettingsParser parser;
    private final AtomicLong sent = new AtomicLong();
    private final FrameRate rate = new FrameRate();
    private final StyleImageUpload style;
    private volatile String id;
    private volatile Txt2ImgSession session;

    Txt2ImgSocket(ServerContext ctx) {
        super(ctx);
        this.parser = ctx.factory().parser(false);
        this.style = StyleImageUpload.of(ctx);
    }

    @Override
    protected String kind() {
        return "txt2img";
    }

    @Override
    protected String sessionId() {
        return id;
    }

    @Override
    protected SessionPipeline openPipeline() throws Exception {
        id = UUID.randomUUID().toString();
        StreamSettings initial = ctx.factory().initialSettings();
        initial = new StreamSettings(initial.prompt(), initial.negativePrompt(), ctx.factory().txt2imgTIndexList(),
                initial.guidanceScale(), initial.delta(), initial.seed(), initial.filter()).withIpAdapterScale(initial.ipAdapterScale());
        session = new Txt2ImgSession(ctx.factory(), initial, ctx.codec(), this::send, s -> ctx.events().settingsApplied(id, s),
                ctx.metrics().frames());
        return session;
    }

    private void send(GeneratedFrame f) {
        outbox.frame(Messages.frame(id, f, "settings_version"), f.jpeg(), () -> {
            sent.incrementAndGet();
            rate.mark();
            ctx.events().frameSent(id, f.seq(), f.source(), f.jpeg());
        });
    }

    @Override
    protected void greet() {
        ObjectNode o = Messages.object("hello");
        o.put("session", id);
        o.put("mode", "txt2img");
        o.put("width", ctx.factory().width());
        o.put("height", ctx.factory().height());
        o.put("session_timeout_s", ctx.options().sessionTimeout().toSeconds());
        o.set("settings", session.settings().toJson(parser.presets()));
        o.set("limits", Messages.JSON.valueToTree(parser.limits()));
        ObjectNode ip = StyleImageUpload.hello(ctx.factory(), session.settings(), ctx.options());
        if (ip != null) o.set("ip_adapter", ip);
        outbox.text(o.toString());
        session.start(); // pictures only after the hello
    }

    @Override
    protected void onText(String text) throws ProtocolException {
        JsonNode m = Messages.parse(text);
        String type = m.path("type").asText("");
        if (type.equals(StyleImageUpload.TYPE)) {
            if (style.announce(m) instanceof StyleImageUpload.Clear) setStyle(null);
            return;
        }
        if (!type.equals("settings")) {
            throw new ProtocolException("bad_message", type.isEmpty() ? "messages need a \"type\" (settings, style_image)"
                    : "unknown message type \"" + SettingsParser.abbreviate(type) + "\"; this session takes settings and"
                    + " style_image messages");
        }
        StreamSettings next = parser.merge(session.settings(), m);
        session.update(next);
        outbox.text(Messages.settings(next, parser.presets()));
    }

    @Override
    protected void onBinary(byte[] data) throws ProtocolException {
        if (!style.expectsImage()) {
            throw new ProtocolException("bad_message", "a txt2img session takes no frames, only settings messages (and a style"
                    + " image after a style_image message)");
        }
        RgbImage image = style.receive(data);
        if (image != null) setStyle(image);
    }

    /** Encodes the style image here, on this socket's thread, and hands the session its tokens. */
    private void setStyle(RgbImage image) throws ProtocolException {
        FloatTensor tokens = StyleImageUpload.encode(ctx.factory(), image);
        session.updateStyle(tokens, () -> outbox.text(StyleImageUpload.applied(image)));
    }

    @Override
    protected String statusMessage() {
        ObjectNode o = Messages.object("status");
        o.put("fps_out", Messages.round1(rate.perSecond()));
        o.put("frames_out", sent.get());
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
