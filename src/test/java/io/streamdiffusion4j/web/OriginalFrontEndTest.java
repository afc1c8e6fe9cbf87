package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.random.TorchSeed;
import java.io.DataInputStream;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 11: the original demo's page, built unchanged. Its "Rand" button draws seeds up
 * to 2^53 (SeedInput.svelte: Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)), which the
 * server refused, and the page's answer to an error is to drop its session, which looped. And
 * the page opens its MJPEG stream as soon as its WebSocket opens, before "connected" arrives.
 */
class OriginalFrontEndTest {
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

    @Test
    void everySeedThePageCanSendIsAcceptedAsTorchTakesIt() throws Exception {
        String[] seeds = {"8987654321012345", "9007199254740990", "\"4294967301\"", "-5", "18446744073709551615", "7e3"};
        try (TestServer s = TestServer.start(models)) {
            for (String seed : seeds) {
                UUID user = UUID.randomUUID();
                try (WsClient c = WsClient.connect(s.ws("/api/ws/" + user))) {
                    c.nextJson(n -> n.path("status").asText().equals("send_frame"));
                    byte[] frame = TestServer.jpeg(200, 40, 90);
                    c.send("{\"status\": \"next_frame\"}");
                    c.send("{\"prompt\": \"a paper boat\", \"seed\": " + seed + ", \"width\": 64, \"height\": 64}");
                    c.send(frame);
                    long expectedSeed = TorchSeed.of(new java.math.BigDecimal(seed.replace("\"", "")).toBigIntegerExact());
                    StreamSettings expected = new StreamSettings("a paper boat", "", s.defaults().tIndexList(),
                            s.defaults().guidanceScale(), s.defaults().delta(), expectedSeed, s.defaults().filter());
                    HttpResponse<InputStream> stream = HTTP.send(HttpRequest.newBuilder(s.http("/api/stream/" + user)).build(),
                            HttpResponse.BodyHandlers.ofInputStream());
                    try (InputStream body = stream.body(); StreamDiffusion reference = TestServer.reference(models, expected)) {
                        assertThat(stream.statusCode()).as(seed).isEqualTo(200);
                        assertThat(CompatApiTest.readPart(new DataInputStream(body))).as(seed).isEqualTo(TestServer.expected(reference, frame));
                    }
                    assertThat(s.events.applied.get(user.toString())).as(seed).extracting(StreamSettings::seed)
                            .containsExactly(expectedSeed);
                }
            }
            assertThat(s.server.counters().protocolErrors()).isZero();
        }
    }

    @Test
    void seedsEqualInTheirLow32BitsMakeTheSameImageWithoutTheFilter() throws Exception {
        try (TestServer s = TestServer.start(models)) {
            StreamSettings d = s.defaults();
            byte[] frame = TestServer.jpeg(10, 120, 200);
            byte[][] images = new byte[3][];
            long[] seeds = {5, (1L << 32) + 5, TorchSeed.of(BigInteger.ONE.shiftLeft(64).subtract(BigInteger.valueOf((1L << 32) - 5)))};
            for (int i = 0; i < seeds.length; i++) {
                try (StreamDiffusion r = TestServer.reference(models, new StreamSettings("x", "", d.tIndexList(), d.guidanceScale(), d.delta(), seeds[i],
                        d.filter()))) {
                    images[i] = TestServer.expected(r, frame);
                }
            }
            assertThat(images[1]).isEqualTo(images[0]);
            assertThat(images[2]).isEqualTo(images[0]);
        }
    }

    /**
     * The page opens /api/stream/{id} when its socket opens; the first session after start takes
     * longest to build its pipeline, and the stream request came before the user was known: 404,
     * an empty image. The original registers the user before anything else. (The window is the
     * pipeline build; at 64x64 on a warm JVM it is short, so on the old code this test does not
     * fail every time: it checks the fixed behaviour, not the race's timing.)
     */
    @Test
    void theStreamRequestedRightAfterTheHandshakeFindsItsUser() throws Exception {
        try (TestServer s = TestServer.start(models)) {
            for (int i = 0; i < 3; i++) {
                UUID user = UUID.randomUUID();
                try (WsClient c = WsClient.connect(s.ws("/api/ws/" + user))) {
                    // no message read yet: "connected" may not even be sent
                    // (the answer's headers come with the first image, as in the original)
                    var pending = HTTP.sendAsync(HttpRequest.newBuilder(s.http("/api/stream/" + user)).build(),
                            HttpResponse.BodyHandlers.ofInputStream());
                    c.nextJson(n -> n.path("status").asText().equals("send_frame"));
                    c.send("{\"status\": \"next_frame\"}");
                    c.send("{\"prompt\": \"a paper boat\"}");
                    c.send(TestServer.jpeg(50, 60, 70));
                    HttpResponse<InputStream> stream = pending.get(60, java.util.concurrent.TimeUnit.SECONDS);
                    try (InputStream body = stream.body()) {
                        assertThat(stream.statusCode()).as("session %d", i).isEqualTo(200);
                        assertThat(CompatApiTest.readPart(new DataInputStream(body))).isNotEmpty();
                    }
                }
            }
        }
    }
}
