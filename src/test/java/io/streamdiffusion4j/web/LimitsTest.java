package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.model.StableDiffusionModels;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every limit of the server, each answered as documented, with the JDK's WebSocket and HTTP clients. */
class LimitsTest {
    private static StableDiffusionModels models;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    private static TestServer start(WebServerOptions options) throws Exception {
        return new TestServer(models, options);
    }

    private static JsonNode error(WsClient c, String code) throws Exception {
        JsonNode e = c.nextOfType("error");
        assertThat(e.get("code").asText()).as(e.toString()).isEqualTo(code);
        return e;
    }

    /** The session is still up: a frame still comes back. */
    private static void stillServes(WsClient c) throws Exception {
        c.send(TestServer.jpeg(10, 90, 170));
        assertThat(c.nextFrame().jpeg()).isNotEmpty();
    }

    @Test
    void maxSessionsAcrossPagesThenTheFullMessage() throws Exception {
        try (TestServer s = start(WebServerOptions.defaults().withMaxSessions(2));
             WsClient b = WsClient.connect(s.ws("/ws/txt2img"))) {
            WsClient a = WsClient.connect(s.ws("/ws")); // closed below, to free its place
            a.nextOfType("hello");
            b.nextOfType("hello");
            assertThat(HTTP.send(HttpRequest.newBuilder(s.http("/api/queue")).build(), HttpResponse.BodyHandlers.ofString())
                    .body()).isEqualTo("{\"queue_size\":2}");
            try (WsClient c = WsClient.connect(s.ws("/ws"))) {
                JsonNode full = c.nextOfType("full");
                assertThat(full.get("message").asText()).contains("server is full").contains("all 2 sessions");
                assertThat(c.awaitClose().code()).isEqualTo(1013);
            }
            try (WsClient c = WsClient.connect(s.ws("/api/ws/" + java.util.UUID.randomUUID()))) {
                JsonNode full = c.nextJson(n -> n.has("status"));
                assertThat(full.toString()).isEqualTo("{\"status\":\"error\",\"message\":\"Server is full\"}");
            }
            a.close();
            waitFor(() -> s.server.activeSessions() == 1);
            try (WsClient c = WsClient.connect(s.ws("/ws"))) {
                assertThat(c.nextOfType("hello").get("session").asText()).as("the slot was freed").isNotEmpty();
            }
        }
    }

    @Test
    void aMessageOverTheSizeLimitClosesTheSession() throws Exception {
        try (TestServer s = start(WebServerOptions.defaults().withMaxMessageBytes(16 * 1024))) {
            try (WsClient c = WsClient.connect(s.ws("/ws"))) {
                c.nextOfType("hello");
                stillServes(c);
                c.send(new byte[20 * 1024]);
                assertThat(c.awaitClose().code()).as("1009: message too big").isEqualTo(1009);
            }
            try (WsClient c = WsClient.connect(s.ws("/ws"))) {
                c.nextOfType("hello");
                c.send("{\"type\":\"settings\",\"prompt\":\"" + "x".repeat(WebServer.MAX_TEXT_BYTES) + "\"}");
                assertThat(c.awaitClose().code()).isEqualTo(1009);
            }
            waitFor(() -> s.server.activeSessions() == 0);
        }
    }

    @Test
    void framesOverTheSizeLimitAreRefusedBeforeDecodingAndTheSessionGoesOn() throws Exception {
        try (TestServer s = start(WebServerOptions.defaults().withMaxFrameSide(100)); WsClient c = WsClient.connect(s.ws("/ws"))) {
            c.nextOfType("hello");
            c.send(TestServer.jpeg(160, 40, 10, 10, 10));
            assertThat(error(c, "frame_too_large").get("message").asText()).contains("160x40").contains("100 pixels");
            // a small file whose header claims 60000x60000: refused from the header, nothing is allocated
            byte[] bomb = TestServer.jpeg(8, 8, 0, 0, 0);
            int sof = sofOffset(bomb);
            bomb[sof + 5] = (byte) 0xEA; bomb[sof + 6] = 0x60; // height 60000
            bomb[sof + 7] = (byte) 0xEA; bomb[sof + 8] = 0x60; // width 60000
            c.send(bomb);
            assertThat(error(c, "frame_too_large").get("message").asText()).contains("60000x60000");
            stillServes(c);
        }
    }

    private static int sofOffset(byte[] jpeg) {
        for (int i = 2; i + 1 < jpeg.length; i++) {
            if ((jpeg[i] & 0xff) == 0xFF && (jpeg[i + 1] & 0xff) == 0xC0) return i;
        }
        throw new AssertionError("no SOF0 marker");
    }

    @Test
    void malformedMessagesAreAnsweredWithAnErrorAndTheSessionGoesOn() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws"))) {
            JsonNode hello = c.nextOfType("hello");
            c.send("this is not JSON");
            assertThat(error(c, "bad_json").get("message").asText()).contains("malformed JSON");
            c.send("[1, 2]");
            error(c, "bad_json");
            c.send("{}");
            error(c, "bad_message");
            c.send("{\"type\": \"dance\"}");
            assertThat(error(c, "bad_message").get("message").asText()).contains("dance");
            String[][] badSettings = {
                    {"\"guidance_scale\": \"high\"", "guidance_scale must be a number"},
                    {"\"guidance_scale\": 1e9", "guidance_scale must be in [0, 10]"},
                    {"\"delta\": -1", "delta must be in"},
                    {"\"t_index_list\": [60]", "outside [0, 49]"},
                    {"\"t_index_list\": [45, 32]", "must increase"},
                    {"\"t_index_list\": [1, 2, 3, 4, 5]", "1 to 4 integers"},
                    {"\"t_index_list\": [32.5]", "integers"},
                    {"\"strength\": \"ultra\"", "strength must be one of [subtle, medium, strong, wild]"},
                    {"\"strength\": \"strong\", \"t_index_list\": [1]", "not both"},
                    {"\"seed\": 18446744073709551616", "seed must be in [-9223372036854775808, 18446744073709551615]"},
                    {"\"seed\": 1.5", "whole number"},
                    {"\"prompt\": 42", "prompt must be a string"},
                    {"\"prompt\": \"" + "y".repeat(1001) + "\"", "1001 characters; the limit is 1000"},
                    {"\"similar_image_filter\": true", "similar_image_filter must be an object"},
                    {"\"similar_image_filter\": {\"threshold\": 2}", "threshold must be in [0, 1]"},
                    {"\"similar_image_filter\": {\"enabled\": \"yes\"}", "true or false"},
            };
            for (String[] bad : badSettings) {
                c.send("{\"type\": \"settings\", " + bad[0] + "}");
                assertThat(error(c, "bad_settings").get("message").asText()).as(bad[0]).contains(bad[1]);
            }
            c.send(new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3, 4});
            assertThat(error(c, "bad_frame").get("message").asText()).contains("must be JPEG");
            byte[] good = TestServer.jpeg(1, 2, 3);
            c.send(Arrays.copyOf(good, 200)); // header and part of the tables, no frame header yet
            error(c, "bad_frame");
            byte[] truncated = Arrays.copyOf(good, good.length / 2);
            c.send(truncated); // a valid header, a body cut in half: the decoder refuses it, or decodes what is there
            List<Object> after = c.drain(Duration.ofSeconds(2));
            assertThat(after).as("a truncated JPEG is refused or decoded, never fatal").isNotEmpty();
            // nothing changed the session's settings
            c.send("{\"type\": \"settings\"}");
            assertThat(c.nextOfType("settings").get("settings")).isEqualTo(hello.get("settings"));
            stillServes(c);
        }
    }

    @Test
    void noModelFileOrSizeIsTakenFromAClient() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws"));
             WsClient t = WsClient.connect(s.ws("/ws/txt2img"))) {
            JsonNode hello = c.nextOfType("hello");
            for (String key : List.of("model", "taesd", "config", "lora", "path", "web_root")) {
                c.send("{\"type\": \"settings\", \"" + key + "\": \"/etc/passwd\"}");
                assertThat(error(c, "bad_settings").get("message").asText()).contains("unknown setting '" + key + "'");
            }
            c.send("{\"type\": \"settings\", \"width\": 512}");
            assertThat(error(c, "bad_settings").get("message").asText()).contains("the server decides the image size (64x64)");
            c.send("{\"type\": \"settings\"}");
            assertThat(c.nextOfType("settings").get("settings")).isEqualTo(hello.get("settings"));
            t.nextOfType("hello");
            t.send("{\"type\": \"settings\", \"strength\": \"wild\"}");
            assertThat(error(t, "bad_settings").get("message").asText()).contains("apply to img2img");
            t.send(TestServer.jpeg(1, 2, 3));
            assertThat(error(t, "bad_message").get("message").asText()).contains("takes no frames");
        }
    }

    @Test
    void framesFasterThanTheRateLimitAreDroppedWithAnError() throws Exception {
        try (TestServer s = start(WebServerOptions.defaults().withMaxFps(4)); WsClient c = WsClient.connect(s.ws("/ws"))) {
            c.nextOfType("hello");
            byte[] frame = TestServer.jpeg(70, 70, 70);
            for (int i = 0; i < 12; i++) c.send(frame);
            JsonNode e = error(c, "rate_limited");
            assertThat(e.get("message").asText()).contains("limited to 4.0 per second");
            List<Object> rest = c.drain(Duration.ofMillis(1500));
            long images = rest.stream().filter(m -> m instanceof byte[]).count();
            long errors = rest.stream().filter(m -> m instanceof JsonNode n && n.path("type").asText().equals("error")).count();
            assertThat(images).as("a burst of 2 frames got through").isBetween(1L, 2L);
            assertThat(errors).as("one error a second at most").isZero();
            JsonNode status = rest.stream().filter(m -> m instanceof JsonNode n && n.path("type").asText().equals("status"))
                    .map(JsonNode.class::cast).reduce((x, y) -> y).orElseThrow();
            assertThat(status.get("frames_received").asLong()).isEqualTo(12);
            assertThat(status.get("dropped").asLong()).isGreaterThanOrEqualTo(10);
            stillServes(c); // after the pause the bucket has refilled
        }
    }

    @Test
    void sessionTimeoutEndsTheSessionWithAMessage() throws Exception {
        try (TestServer s = start(WebServerOptions.defaults().withSessionTimeout(Duration.ofSeconds(2)));
             WsClient c = WsClient.connect(s.ws("/ws"));
             WsClient compat = WsClient.connect(s.ws("/api/ws/" + java.util.UUID.randomUUID()))) {
            long t0 = System.nanoTime();
            JsonNode hello = c.nextOfType("hello");
            String id = hello.get("session").asText();
            assertThat(hello.get("session_timeout_s").asLong()).isEqualTo(2);
            JsonNode ended = c.nextOfType("ended");
            assertThat((System.nanoTime() - t0) / 1e9).isGreaterThan(1.5);
            assertThat(ended.get("reason").asText()).isEqualTo("timeout");
            assertThat(ended.get("message").asText()).contains("at most 2 s");
            assertThat(c.awaitClose().code()).isEqualTo(1000);
            JsonNode timeout = compat.nextJson(n -> n.path("status").asText().equals("timeout"));
            assertThat(timeout.toString()).isEqualTo("{\"status\":\"timeout\",\"message\":\"Your session has ended\"}");
            waitFor(() -> s.server.activeSessions() == 0);
            assertThat(s.events.ended).containsEntry(id, "timeout");
        }
    }

    @Test
    void anOriginCheckGuardsWebSocketUpgrades() throws Exception {
        try (TestServer s = start(WebServerOptions.defaults().withAllowedOrigins(List.of("https://studio.example.org")))) {
            String own = "http://127.0.0.1:" + s.server.port();
            for (String origin : List.of(own, "https://studio.example.org", "https://studio.example.org:443")) {
                try (WsClient c = WsClient.connect(s.ws("/ws"), Map.of("Origin", origin))) {
                    c.nextOfType("hello");
                }
            }
            for (String origin : List.of("http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:" + s.server.port(),
                    "http://studio.example.org")) {
                for (String path : List.of("/ws", "/ws/txt2img", "/api/ws/" + java.util.UUID.randomUUID())) {
                    assertThat(handshakeStatus(s, path, Map.of("Origin", origin))).as(origin + " " + path).isEqualTo(403);
                }
            }
            assertThat(s.events.opened).hasSize(3);
        }
    }

    @Test
    void anAccessTokenIsRequiredOnEveryRequestWhenSet() throws Exception {
        String token = "s3cret-token-for-tests";
        try (TestServer s = start(WebServerOptions.defaults().withAccessToken(token))) {
            assertThat(get(s, "/", Map.of()).statusCode()).isEqualTo(401);
            assertThat(get(s, "/api/settings", Map.of()).statusCode()).isEqualTo(401);
            assertThat(get(s, "/?token=wrong-token-value", Map.of()).statusCode()).isEqualTo(401);
            HttpResponse<String> page = get(s, "/?token=" + token, Map.of());
            assertThat(page.statusCode()).isEqualTo(200);
            String cookie = page.headers().firstValue("Set-Cookie").orElseThrow();
            assertThat(cookie).startsWith(AccessGuard.COOKIE + "=" + token).contains("HttpOnly").contains("SameSite=Strict");
            String cookieHeader = AccessGuard.COOKIE + "=" + token;
            assertThat(get(s, "/api/queue", Map.of("Cookie", cookieHeader)).statusCode()).isEqualTo(200);
            assertThat(get(s, "/api/queue", Map.of("Authorization", "Bearer " + token)).statusCode()).isEqualTo(200);
            assertThat(get(s, "/api/queue", Map.of("Cookie", AccessGuard.COOKIE + "=nope-nope-nope")).statusCode()).isEqualTo(401);
            assertThat(handshakeStatus(s, "/ws", Map.of())).isEqualTo(401);
            try (WsClient c = WsClient.connect(s.ws("/ws"), Map.of("Cookie", cookieHeader))) {
                c.nextOfType("hello");
            }
        }
    }

    @Test
    void shutdownTellsEverySession() throws Exception {
        TestServer s = TestServer.start(models);
        try (WsClient c = WsClient.connect(s.ws("/ws"))) {
            c.nextOfType("hello");
            stillServes(c);
            s.close();
            JsonNode ended = c.nextOfType("ended");
            assertThat(ended.get("reason").asText()).isEqualTo("shutdown");
            assertThat(ended.get("message").asText()).contains("shutting down");
            assertThat(c.awaitClose().code()).isEqualTo(1001);
        }
    }

    static int handshakeStatus(TestServer s, String path, Map<String, String> headers) throws Exception {
        try {
            WsClient.connect(s.ws(path), headers).close();
            return 101;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) return h.getResponse().statusCode();
            throw e;
        }
    }

    static HttpResponse<String> get(TestServer s, String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.http(path));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out");
            Thread.sleep(10);
        }
    }
}
