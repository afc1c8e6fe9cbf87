package io.streamdiffusion4j.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.engine.Telemetry;

/**
 * The JSON of this server's own protocol (pages under /ws). Every message has a "type":
 * hello, settings, frame (followed by one binary JPEG), status, error, full, ended (with
 * {@code "reconnect": true} when the server is draining: a new session will find a server that is up).
 */
final class Messages {
    static final ObjectMapper JSON = new ObjectMapper();

    private Messages() {}

    /** Parses a client's text message; malformed JSON is a protocol error (the session goes on). */
    static JsonNode parse(String text) throws ProtocolException {
        try {
            JsonNode n = JSON.readTree(text);
            if (n == null || !n.isObject()) throw new ProtocolException("bad_json", "messages must be JSON objects");
            return n;
        } catch (JsonProcessingException e) {
            throw new ProtocolException("bad_json", "malformed JSON: " + e.getOriginalMessage());
        }
    }

    static ObjectNode object(String type) {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", type);
        return o;
    }

    static String error(String code, String message) {
        ObjectNode o = object("error");
        o.put("code", code);
        o.put("message", message);
        return o.toString();
    }

    static String full(int max) {
        ObjectNode o = object("full");
        o.put("message", "The server is full: all " + max + " session" + (max == 1 ? " is" : "s are")
                + " in use. Try again in a minute.");
        return o.toString();
    }

    static String ended(Ending e) {
        ObjectNode o = object("ended");
        o.put("reason", e.reason());
        o.put("message", e.message());
        if (e.reconnect()) o.put("reconnect", true);
        return o.toString();
    }

    static String settings(StreamSettings s, StrengthPresets presets) {
        ObjectNode o = object("settings");
        o.set("settings", s.toJson(presets));
        return o.toString();
    }

    /** The header sent right before a frame's JPEG. */
    static String frame(String session, GeneratedFrame f, String sourceKey) {
        ObjectNode o = object("frame");
        o.put("session", session);
        o.put("seq", f.seq());
        o.put(sourceKey, f.source());
        o.put("server_ms", Math.round(f.serverNanos() / 1e5) / 10.0);
        o.put("bytes", f.jpeg().length);
        return o.toString();
    }

    static ObjectNode status(Telemetry t) {
        ObjectNode o = object("status");
        o.put("fps_in", round1(t.inputFps()));
        o.put("fps_out", round1(t.outputFps()));
        ObjectNode lat = o.putObject("latency_ms");
        lat.put("p50", round1(t.glassToGlassMillis()[0]));
        lat.put("p95", round1(t.glassToGlassMillis()[1]));
        double[] unet = t.stageMillis().get("unet");
        if (unet != null) o.put("unet_ms", round1(unet[0]));
        o.put("frames_out", t.framesOut());
        o.put("skipped", t.skipped());
        return o;
    }

    static double round1(double v) {
        return Double.isFinite(v) ? Math.round(v * 10) / 10.0 : 0;
    }
}
