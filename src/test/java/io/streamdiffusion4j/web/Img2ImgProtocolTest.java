package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The page's img2img protocol with the JDK's WebSocket client: what comes back is exactly what
 * a pipeline built directly with the library ({@link TestServer#reference}) makes of the
 * session's own frames with the settings the test gave the session.
 */
class Img2ImgProtocolTest {
    private static StableDiffusionModels models;

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    /** Sends a frame and waits for its image (one frame in flight, so the pairing is certain). */
    private static WsClient.Frame roundTrip(WsClient c, byte[] jpeg) throws Exception {
        c.send(jpeg);
        return c.nextFrame();
    }

    @Test
    void helloThenEachFrameComesBackAsTheSessionsPipelineMakesIt() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws"))) {
            JsonNode hello = c.nextOfType("hello");
            String session = hello.get("session").asText();
            assertThat(hello.get("mode").asText()).isEqualTo("img2img");
            assertThat(hello.get("width").asInt()).isEqualTo(TestServer.SIZE);
            assertThat(hello.get("height").asInt()).isEqualTo(TestServer.SIZE);
            assertThat(hello.get("max_fps").asDouble()).isEqualTo(30);
            assertThat(hello.at("/settings/prompt").asText()).isEqualTo(TestServer.PROMPT);
            assertThat(hello.at("/settings/strength").asText()).isEqualTo("medium");
            assertThat(hello.at("/strengths/strong").toString()).isEqualTo("[22,32,45]");

            byte[][] inputs = {TestServer.jpeg(200, 20, 20), TestServer.jpeg(20, 20, 200), TestServer.jpeg(20, 200, 20)};
            try (StreamDiffusion reference = TestServer.reference(models)) {
                byte[] previous = null;
                for (int i = 0; i < inputs.length; i++) {
                    WsClient.Frame f = roundTrip(c, inputs[i]);
                    assertThat(f.header().get("session").asText()).isEqualTo(session);
                    assertThat(f.header().get("seq").asLong()).isEqualTo(i + 1);
                    assertThat(f.header().get("input_seq").asLong()).as("the input frame it came from").isEqualTo(i + 1);
                    assertThat(f.header().get("bytes").asInt()).isEqualTo(f.jpeg().length);
                    RgbImage img = ImageCodec.best().decode(f.jpeg());
                    assertThat(img.width()).isEqualTo(TestServer.SIZE);
                    assertThat(img.height()).isEqualTo(TestServer.SIZE);
                    assertThat(f.jpeg()).as("frame %d", i).isEqualTo(TestServer.expected(reference, inputs[i]));
                    if (previous != null) assertThat(f.jpeg()).as("outputs follow the input").isNotEqualTo(previous);
                    previous = f.jpeg();
                }
            }
            assertThat(s.events.opened).containsEntry(session, "img2img");
            assertThat(s.events.sent.get(session)).hasSize(3);
        }
    }

    @Test
    void settingsAreAcceptedAndReachThePipelineWithoutReload() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws"))) {
            String session = c.nextOfType("hello").get("session").asText();
            byte[] frame = TestServer.jpeg(120, 60, 30);
            try (StreamDiffusion reference = TestServer.reference(models)) {
                assertThat(roundTrip(c, frame).jpeg()).isEqualTo(TestServer.expected(reference, frame));

                c.send("""
                        {"type": "settings", "prompt": "a red cat", "negative_prompt": "blurry", "strength": "strong",
                         "guidance_scale": 1.5, "delta": 0.8, "seed": 7,
                         "similar_image_filter": {"enabled": true, "threshold": 0.99}}""");
                JsonNode ack = c.nextOfType("settings").get("settings");
                assertThat(ack.get("prompt").asText()).isEqualTo("a red cat");
                assertThat(ack.get("strength").asText()).isEqualTo("strong");
                assertThat(ack.get("t_index_list").toString()).isEqualTo("[22,32,45]");
                assertThat(ack.get("guidance_scale").asDouble()).isEqualTo(1.5);
                assertThat(ack.get("seed").asLong()).isEqualTo(7);
                assertThat(ack.at("/similar_image_filter/enabled").asBoolean()).isTrue();
                assertThat(ack.at("/similar_image_filter/max_skip_frame").asInt()).as("kept").isEqualTo(10);

                // the same changes through the library's own live updates (not the server's settings code),
                // in the order the library documents (t_index_list first), then the same frame
                reference.updateTIndexList(22, 32, 45);
                reference.updateGuidance(1.5, 0.8);
                reference.updatePrompt("a red cat", "blurry");
                reference.updateSeed(7);
                reference.updateSimilarityFilter(new SimilarityFilterSettings(true, 0.99, 10));
                byte[] frame2 = TestServer.jpeg(30, 60, 120);
                assertThat(roundTrip(c, frame2).jpeg()).isEqualTo(TestServer.expected(reference, frame2));
            }
            List<StreamSettings> applied = s.events.applied.get(session);
            assertThat(applied).hasSize(1);
            assertThat(applied.getFirst().prompt()).isEqualTo("a red cat");
            assertThat(applied.getFirst().tIndexList()).containsExactly(22, 32, 45);
        }
    }

    /**
     * The original demo's issue #156 (tabs receive each other's images) must not happen: two
     * sessions interleave frames, and each gets exactly what its own pipeline, fed only its own
     * frames with its own settings, makes.
     */
    @Test
    void twoSessionsEachGetOnlyTheirOwnImages() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient a = WsClient.connect(s.ws("/ws"));
             WsClient b = WsClient.connect(s.ws("/ws"))) {
            String idA = a.nextOfType("hello").get("session").asText();
            String idB = b.nextOfType("hello").get("session").asText();
            assertThat(idA).isNotEqualTo(idB);
            b.send("{\"type\": \"settings\", \"prompt\": \"a lighthouse at night\", \"seed\": 99}");
            b.nextOfType("settings");
            try (StreamDiffusion refA = TestServer.reference(models);
                 StreamDiffusion refB = TestServer.reference(models, "a lighthouse at night", "", TestServer.T_INDEX_LIST,
                         TestServer.GUIDANCE_SCALE, TestServer.DELTA, 99)) {
                for (int i = 0; i < 4; i++) {
                    byte[] fa = TestServer.jpeg(40 * i, 100, 50);
                    byte[] fb = TestServer.jpeg(50, 40 * i, 100);
                    a.send(fa);
                    b.send(fb);
                    WsClient.Frame ga = a.nextFrame();
                    WsClient.Frame gb = b.nextFrame();
                    assertThat(ga.header().get("session").asText()).isEqualTo(idA);
                    assertThat(gb.header().get("session").asText()).isEqualTo(idB);
                    assertThat(ga.jpeg()).as("A, frame %d", i).isEqualTo(TestServer.expected(refA, fa));
                    assertThat(gb.jpeg()).as("B, frame %d", i).isEqualTo(TestServer.expected(refB, fb));
                    assertThat(ga.jpeg()).isNotEqualTo(gb.jpeg());
                }
            }
        }
    }

    @Test
    void statusEverySecondAndFramesDroppedWhenTheClientOutrunsTheModel() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws"))) {
            c.nextOfType("hello");
            // five frames at once: the newest wins, at most two are in the pipeline at a time
            for (int i = 0; i < 5; i++) c.send(TestServer.jpeg(50 * i, 0, 0));
            long lastInput = 0;
            int images = 0;
            while (lastInput < 5) {
                WsClient.Frame f = c.nextFrame();
                assertThat(f.header().get("input_seq").asLong()).as("in order").isGreaterThan(lastInput);
                lastInput = f.header().get("input_seq").asLong();
                images++;
            }
            assertThat(images).as("the newest frame always comes back; older ones may be replaced").isBetween(1, 5);
            JsonNode status = c.nextOfType("status");
            assertThat(status.get("frames_received").asLong()).isEqualTo(5);
            assertThat(status.get("frames_out").asLong()).isEqualTo(images);
            assertThat(status.get("dropped").asLong()).isEqualTo(5 - images);
            assertThat(status.get("fps_out").asDouble()).isGreaterThanOrEqualTo(0);
            assertThat(status.has("latency_ms")).isTrue();
        }
    }
}
