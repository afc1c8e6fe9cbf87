package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The original realtime-img2img demo's API, driven the way its front end drives it
 * (frontend/src/lib/lcmLive.ts and ImagePlayer.svelte): settings, queue, the WebSocket's status
 * messages and the MJPEG stream.
 */
class CompatApiTest {
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

    private static JsonNode getJson(TestServer s, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(s.http(path)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        return WsClient.JSON.readTree(r.body());
    }

    @Test
    void settingsAndQueueAsTheOriginalFrontEndReadsThem() throws Exception {
        try (TestServer s = new TestServer(models, WebServerOptions.defaults().withMaxSessions(3))) {
            JsonNode settings = getJson(s, "/api/settings");
            assertThat(settings.at("/info/properties/input_mode/default").asText()).isEqualTo("image");
            assertThat(settings.at("/info/properties/name/default").asText()).isEqualTo("StreamDiffusion img2img");
            JsonNode params = settings.at("/input_params/properties");
            assertThat(params.at("/prompt/field").asText()).isEqualTo("textarea");
            assertThat(params.at("/prompt/id").asText()).isEqualTo("prompt");
            assertThat(params.at("/prompt/default").asText()).isEqualTo(TestServer.PROMPT);
            assertThat(params.at("/width/default").asInt()).as("the page's canvas size").isEqualTo(TestServer.SIZE);
            assertThat(params.at("/height/default").asInt()).isEqualTo(TestServer.SIZE);
            assertThat(params.at("/width/disabled").asBoolean()).isTrue();
            assertThat(params.at("/strength/field").asText()).isEqualTo("select");
            assertThat(params.at("/strength/values").toString()).isEqualTo("[\"subtle\",\"medium\",\"strong\",\"wild\"]");
            assertThat(params.at("/guidance_scale/field").asText()).isEqualTo("range");
            assertThat(params.at("/seed/field").asText()).isEqualTo("seed");
            assertThat(settings.get("max_queue_size").asInt()).isEqualTo(3);
            assertThat(settings.get("page_content").asText()).contains("StreamDiffusion");
            assertThat(getJson(s, "/api/queue").toString()).isEqualTo("{\"queue_size\":0}");
            try (WsClient c = WsClient.connect(s.ws("/api/ws/" + UUID.randomUUID()))) {
                c.nextJson(n -> n.path("status").asText().equals("send_frame"));
                assertThat(getJson(s, "/api/queue").toString()).isEqualTo("{\"queue_size\":1}");
            }
            HttpResponse<String> missing = HTTP.send(HttpRequest.newBuilder(s.http("/api/nothing")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(missing.statusCode()).isEqualTo(404);
            HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(s.http("/api/settings"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
        }
    }

    @Test
    void theOriginalClientsFrameLoopAndMjpegStream() throws Exception {
        UUID user = UUID.randomUUID();
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/api/ws/" + user))) {
            assertThat(((JsonNode) c.next()).toString()).isEqualTo("{\"status\":\"connected\",\"message\":\"Connected\"}");
            assertThat(((JsonNode) c.next()).toString()).isEqualTo("{\"status\":\"wait\"}");
            assertThat(((JsonNode) c.next()).toString()).isEqualTo("{\"status\":\"send_frame\"}");
            // as lcmLive.ts answers each send_frame: next_frame, the parameters (getPipelineValues()), the blob
            byte[][] frames = {TestServer.jpeg(220, 30, 30), TestServer.jpeg(30, 220, 30), TestServer.jpeg(30, 30, 220)};
            sendFrame(c, "{\"prompt\": \"a cat made of paper\", \"strength\": \"medium\", \"seed\": \"5\"}", frames[0]);

            HttpResponse<InputStream> stream = HTTP.send(HttpRequest.newBuilder(s.http("/api/stream/" + user)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(stream.statusCode()).isEqualTo(200);
            assertThat(stream.headers().firstValue("Content-Type")).hasValue("multipart/x-mixed-replace;boundary=frame");
            assertThat(stream.headers().firstValue("Cache-Control")).hasValue("no-cache");
            // strength "medium" is the default t_index_list; guidance and delta stay the server's defaults
            try (InputStream body = stream.body();
                 StreamDiffusion reference = TestServer.reference(models, "a cat made of paper", "",
                         TestServer.T_INDEX_LIST, TestServer.GUIDANCE_SCALE, TestServer.DELTA, 5)) {
                DataInputStream in = new DataInputStream(body);
                for (int i = 0; i < frames.length; i++) {
                    byte[] jpeg = readPart(in);
                    RgbImage img = ImageCodec.best().decode(jpeg);
                    assertThat(img.width()).isEqualTo(TestServer.SIZE);
                    assertThat(jpeg).as("part %d", i).isEqualTo(TestServer.expected(reference, frames[i]));
                    if (i + 1 < frames.length) {
                        c.nextJson(n -> n.path("status").asText().equals("send_frame"));
                        sendFrame(c, "{\"prompt\": \"a cat made of paper\", \"strength\": \"medium\", \"seed\": 5}", frames[i + 1]);
                    }
                }
            }
            assertThat(s.events.applied.get(user.toString())).extracting(StreamSettings::prompt).containsExactly("a cat made of paper");
            assertThat(s.events.sent.get(user.toString())).hasSizeGreaterThanOrEqualTo(3);
        }
    }

    /**
     * The original page (lcmLive.ts) takes any {"status": "error"} as the end of its session and
     * answers every send_frame with a frame: answering a refusal and asking again made it loop.
     * As the original server (which disconnects on any exception), a refused message gets one
     * error naming the problem, then the close; no send_frame follows.
     */
    @Test
    void aRefusedMessageEndsTheSessionWithOneErrorAndNoLoop() throws Exception {
        String[][] cases = {
                {"image", "next_frame"}, // an image before next_frame and the parameters
                {"{\"prompt\": \"ok\", \"guidance_scale\": \"lots\"}", "guidance_scale must be a number"},
                {"{\"prompt\": \"ok\", \"seed\": 18446744073709551616}", "seed must be in"},
                {"{\"prompt\": \"ok\", \"seed\": 1.5}", "whole number"},
        };
        try (TestServer s = TestServer.start(models)) {
            for (String[] bad : cases) {
                try (WsClient c = WsClient.connect(s.ws("/api/ws/" + UUID.randomUUID()))) {
                    c.nextJson(n -> n.path("status").asText().equals("send_frame"));
                    if (bad[0].equals("image")) {
                        c.send(TestServer.jpeg(1, 2, 3));
                    } else {
                        c.send("{\"status\": \"next_frame\"}");
                        c.send(bad[0]);
                    }
                    JsonNode error = c.nextJson(n -> n.path("status").asText().equals("error"));
                    assertThat(error.path("message").asText()).as(bad[0]).contains(bad[1]);
                    assertThat(c.awaitClose().code()).as(bad[0]).isEqualTo(Ending.POLICY_VIOLATION);
                    assertThat(c.drain(Duration.ofMillis(300))).as("nothing after the error: no send_frame to loop on")
                            .noneMatch(m -> m instanceof JsonNode n && n.has("status"));
                }
            }
            assertThat(s.server.counters().protocolErrors()).isEqualTo(cases.length);
        }
    }

    private static void sendFrame(WsClient c, String params, byte[] jpeg) {
        c.send("{\"status\": \"next_frame\"}");
        c.send(params);
        c.send(jpeg);
    }

    /** One part of multipart/x-mixed-replace;boundary=frame, as the original's pil_to_frame writes it. */
    static byte[] readPart(DataInputStream in) throws IOException {
        assertThat(line(in)).isEqualTo("--frame");
        assertThat(line(in)).isEqualTo("Content-Type: image/jpeg");
        String length = line(in);
        assertThat(length).startsWith("Content-Length: ");
        assertThat(line(in)).isEmpty();
        byte[] jpeg = new byte[Integer.parseInt(length.substring(16))];
        in.readFully(jpeg);
        assertThat(line(in)).isEmpty();
        return jpeg;
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') b.write(c);
        String s = b.toString(StandardCharsets.US_ASCII);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Test
    void refusalsInTheOriginalProtocol() throws Exception {
        UUID user = UUID.randomUUID();
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/api/ws/" + user))) {
            c.nextJson(n -> n.path("status").asText().equals("send_frame"));
            // unknown keys are ignored as by the original's pydantic model, and never used (no paths)
            sendFrame(c, "{\"prompt\": \"ok\", \"model\": \"/etc\", \"width\": 512, \"height\": 512}", TestServer.jpeg(4, 5, 6));
            // the same user id twice is refused; another id has its own session
            assertThat(LimitsTest.handshakeStatus(s, "/api/ws/" + user, java.util.Map.of())).isEqualTo(409);
            assertThat(LimitsTest.handshakeStatus(s, "/api/ws/not-a-uuid", java.util.Map.of())).isEqualTo(404);
            assertThat(LimitsTest.handshakeStatus(s, "/api/ws/" + user + "/extra", java.util.Map.of())).isEqualTo(404);
            HttpResponse<String> unknown = HTTP.send(HttpRequest.newBuilder(s.http("/api/stream/" + UUID.randomUUID())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(unknown.body()).isEqualTo("{\"detail\":\"User not found\"}");
            HttpResponse<InputStream> first = HTTP.send(HttpRequest.newBuilder(s.http("/api/stream/" + user)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = first.body()) {
                assertThat(readPart(new DataInputStream(body))).isNotEmpty();
                HttpResponse<String> second = HTTP.send(HttpRequest.newBuilder(s.http("/api/stream/" + user)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(second.statusCode()).as("one stream per user").isEqualTo(409);
            }
            assertThat(s.events.applied.get(user.toString())).extracting(StreamSettings::prompt).containsExactly("ok");
        }
    }
}
