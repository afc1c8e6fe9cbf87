package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.IpAdapterStyle;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.Iterator;
import java.util.Set;

/**
 * A page's style image for the server's IP-Adapter, in two messages: the text message
 * {@code {"type":"style_image","bytes":N}} announces it, and the next binary message is the image
 * file itself (JPEG or PNG, N bytes), not a frame; {@code {"type":"style_image","clear":true}}
 * removes the style image. Once the image is in the pipeline the server answers
 * {@code {"type":"style_image","set":true,"width":W,"height":H}} (or {@code "set":false}).
 *
 * <p>The image is untrusted input and is checked as frames are ({@link UploadedImage}: format,
 * size from its header before decoding, {@code --max-frame-size}, the message size limit),
 * decoded on the socket's thread, never the model's. A refused image is answered with an error
 * naming what was wrong, and the session keeps its previous style image. The image encoder runs
 * on the socket's thread too ({@link #encode}). Whatever happens to an
 * announcement (even a refused one), the binary message after it is taken as its image, so a
 * style image is never mistaken for a camera frame. Images that pass the checks are limited to
 * {@value #PER_SECOND} a second after a burst of two (each costs a run of the shared image
 * encoder); refused ones use up the session's error budget.
 *
 * <p>One per session; used on Jetty's thread for that session only.
 */
final class StyleImageUpload {
    static final String TYPE = "style_image";
    static final double PER_SECOND = 1;
    private static final Set<String> KEYS = Set.of("type", "bytes", "clear");

    private final boolean ipAdapter;
    private final int maxMessageBytes;
    private final ImageCodec codec;
    private final ImageSizeLimit limit;
    private final RateLimiter rate;
    private long expected = -1; // the announced size while a binary message is owed, else -1
    private boolean discard; // the owed binary message's announcement was refused: drop it

    /**
     * @param ipAdapter whether the server runs an IP-Adapter (else every style image is refused)
     * @param maxMessageBytes the largest message, so the largest image file
     * @param limit the largest width and height, as for frames
     */
    StyleImageUpload(boolean ipAdapter, int maxMessageBytes, ImageCodec codec, ImageSizeLimit limit) {
        this.ipAdapter = ipAdapter;
        this.maxMessageBytes = maxMessageBytes;
        this.codec = codec;
        this.limit = limit;
        this.rate = new RateLimiter(PER_SECOND, 2, System.nanoTime());
    }

    /** A session's, with the server's adapter, codec and limits. */
    static StyleImageUpload of(ServerContext ctx) {
        return new StyleImageUpload(ctx.factory().hasIpAdapter(), ctx.options().maxMessageBytes(), ctx.codec(),
                ctx.options().frameLimit());
    }

    /** What a style_image message asks for. */
    sealed interface Request permits Clear, Expect {}

    /** Remove the style image. */
    record Clear() implements Request {}

    /** An image follows in the next binary message. */
    record Expect() implements Request {}

    /**
     * Reads a style_image message. A refused announcement still makes the next binary message its
     * image (discarded); the refusal is thrown here.
     */
    Request announce(JsonNode m) throws ProtocolException {
        if (!(m instanceof ObjectNode o)) throw bad("a style_image message must be a JSON object");
        boolean clear = o.has("clear");
        if (!clear) expected = 0; // from here on the next binary message is this announcement's
        discard = false;
        try {
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!KEYS.contains(key)) {
                    throw bad("unknown style_image key '" + SettingsParser.abbreviate(key) + "'; keys are bytes (an image follows)"
                            + " or clear");
                }
            }
            if (!ipAdapter) {
                throw new ProtocolException("no_ip_adapter", "this server runs no IP-Adapter (serve --ip-adapter): style images"
                        + " cannot be set");
            }
            if (clear) {
                if (o.has("bytes")) throw bad("give bytes (an image follows) or clear, not both");
                if (!o.get("clear").isBoolean() || !o.get("clear").booleanValue()) {
                    throw bad("clear must be true, found " + SettingsParser.abbreviate(o.get("clear").toString()));
                }
                return new Clear();
            }
            JsonNode bytes = o.get("bytes");
            int max = maxMessageBytes;
            if (bytes == null || !bytes.isIntegralNumber() || !bytes.canConvertToLong() || bytes.longValue() < 1
                    || bytes.longValue() > max) {
                throw bad("bytes must be the size of the image file that follows, 1 to " + max + " (the largest message),"
                        + " found " + (bytes == null ? "none" : SettingsParser.abbreviate(bytes.toString())));
            }
            expected = bytes.longValue();
            return new Expect();
        } catch (ProtocolException e) {
            discard = !clear;
            throw e;
        }
    }

    /** The size announced for the binary message owed (0 when its announcement was refused), or -1 when none is owed. */
    long expectedBytes() {
        return expected;
    }

    /** Whether the next binary message is a style image (announced), not a frame. */
    boolean expectsImage() {
        return expected >= 0;
    }

    /**
     * The announced image: its size as announced, then checked and decoded as frames are.
     *
     * @return the image, or null when its announcement was refused (already answered)
     */
    RgbImage receive(byte[] data) throws ProtocolException {
        long announced = expected;
        boolean refused = discard;
        expected = -1;
        discard = false;
        if (refused) return null;
        if (data.length != announced) {
            throw bad("the style_image message announced " + announced + " bytes, the binary message after it has "
                    + data.length + "; the style image stays as it was");
        }
        RgbImage image;
        try {
            image = UploadedImage.STYLE.decode(data, codec, limit);
        } catch (ProtocolException e) {
            throw new ProtocolException(e.code(), e.getMessage() + "; the style image stays as it was");
        }
        // only images that would reach the encoder count: a refused one costs a header check at most (and the error budget)
        if (!rate.tryAcquire(System.nanoTime())) {
            throw new ProtocolException("style_image_rate_limited", "style images are limited to " + Messages.round1(PER_SECOND)
                    + " per second per session; this one is dropped and the style image stays as it was");
        }
        return image;
    }

    /**
     * The image's tokens (null for none), encoded on the socket's thread: the session's model
     * thread only swaps them in, so the stream does not stop while a large image encoder runs.
     */
    static FloatTensor encode(StreamFactory factory, RgbImage image) throws ProtocolException {
        try {
            return factory.encodeStyle(image);
        } catch (RuntimeException e) {
            throw new ProtocolException("bad_style_image", "the " + image.width() + "x" + image.height()
                    + " style image could not be encoded: " + e.getMessage() + "; the style image stays as it was");
        }
    }

    /** The server's answer once a style image (or none) is in the pipeline. */
    static String applied(RgbImage image) {
        ObjectNode o = Messages.object(TYPE);
        o.put("set", image != null);
        if (image != null) {
            o.put("width", image.width());
            o.put("height", image.height());
        }
        return o.toString();
    }

    /** What the hello message says about the server's IP-Adapter (null without one). */
    static ObjectNode hello(StreamFactory factory, StreamSettings session, WebServerOptions options) {
        if (!factory.hasIpAdapter()) return null;
        ObjectNode o = Messages.JSON.createObjectNode();
        o.put("scale", session.ipAdapterScale());
        var range = o.putArray("scale_range");
        range.add(0.0).add(IpAdapterStyle.MAX_SCALE);
        o.put("style_image", factory.hasInitialStyle());
        o.put("max_style_bytes", options.maxMessageBytes());
        o.put("max_style_side", options.maxFrameSide());
        var formats = o.putArray("style_formats");
        formats.add("image/jpeg").add("image/png");
        return o;
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException("bad_style_image", message);
    }
}
