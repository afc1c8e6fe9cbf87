package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The txt2img page's session: a picture at once, then new pictures after each change, then quiet. */
class Txt2ImgProtocolTest {
    private static StableDiffusionModels models;

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    /**
     * What the session must send, made independently of the server: a txt2img pipeline built
     * directly with the library with the settings the test gave the session. The caller closes it.
     */
    private static StreamDiffusion reference() throws Exception {
        StreamDiffusion stream = StreamDiffusion.builder().models(models).config(TestServer.config()).mode(Mode.TXT2IMG)
                .tIndexList(0, 16, 32, 45).seed(TestServer.SEED).build();
        try {
            stream.prepare(TestServer.PROMPT, "", 50, TestServer.GUIDANCE_SCALE, TestServer.DELTA);
            return stream;
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    /** The JPEG the server would send for the picture of the reference's {@code calls}-th next call. */
    private static byte[] afterCalls(StreamDiffusion reference, int calls) throws Exception {
        FloatTensor images = null;
        for (int i = 0; i < calls; i++) images = reference.txt2img();
        return ImageCodec.best().encodeJpeg(ImagePostprocessor.toRgb(ImagePostprocessor.toUnitHwc(images, 0),
                images.dim(3), images.dim(2)), ImageSession.JPEG_QUALITY);
    }

    /** Frames until none has come for 1.5 s (at least one). */
    private static List<WsClient.Frame> framesUntilQuiet(WsClient c) throws Exception {
        List<WsClient.Frame> frames = new ArrayList<>();
        frames.add(c.nextFrame());
        while (true) {
            List<Object> more = c.drain(Duration.ofMillis(1500));
            List<Object> images = new ArrayList<>(more.stream()
                    .filter(m -> !(m instanceof JsonNode n) || n.path("type").asText().equals("frame")).toList());
            if (images.isEmpty()) return frames;
            if (images.size() % 2 == 1) images.add(c.next()); // a header whose image had not arrived yet
            for (int i = 0; i + 1 < images.size(); i += 2) {
                frames.add(new WsClient.Frame((JsonNode) images.get(i), (byte[]) images.get(i + 1)));
            }
        }
    }

    @Test
    void picturesFollowTheSettingsAndStopWhenNothingChanges() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws/txt2img"));
             StreamDiffusion reference = reference()) {
            JsonNode hello = c.nextOfType("hello");
            assertThat(hello.get("mode").asText()).isEqualTo("txt2img");
            assertThat(hello.at("/settings/t_index_list").toString()).isEqualTo("[0,16,32,45]");
            String session = hello.get("session").asText();
            // each settings version runs the stream once per step (4 calls); a frame may be dropped when the
            // socket is busy, never the last one, and then the session is quiet
            List<WsClient.Frame> first = framesUntilQuiet(c);
            assertThat(first).isNotEmpty().allSatisfy(f -> assertThat(f.header().get("settings_version").asLong()).isEqualTo(1));
            assertThat(first.getLast().header().get("seq").asLong()).as("the last call's picture").isEqualTo(4);
            assertThat(ImageCodec.best().decode(first.getLast().jpeg()).width()).isEqualTo(TestServer.SIZE);
            assertThat(first.getLast().jpeg()).as("the fourth call's picture").isEqualTo(afterCalls(reference, 4));

            c.send("{\"type\": \"settings\", \"prompt\": \"a blue whale\", \"seed\": 11}");
            assertThat(c.nextOfType("settings").at("/settings/prompt").asText()).isEqualTo("a blue whale");
            List<WsClient.Frame> second = framesUntilQuiet(c);
            assertThat(second).isNotEmpty().allSatisfy(f -> {
                assertThat(f.header().get("settings_version").asLong()).isEqualTo(2);
                assertThat(f.header().get("session").asText()).isEqualTo(session);
            });
            assertThat(second.getLast().header().get("seq").asLong()).isEqualTo(8);
            assertThat(second.getLast().jpeg()).as("the picture changed with the prompt and seed")
                    .isNotEqualTo(first.getLast().jpeg());
            // the same change through the library's own live updates, then four more calls
            reference.updatePrompt("a blue whale", "");
            reference.updateSeed(11);
            assertThat(second.getLast().jpeg()).as("the eighth call's picture").isEqualTo(afterCalls(reference, 4));
            assertThat(s.events.applied.get(session)).extracting(StreamSettings::prompt)
                    .containsExactly(TestServer.PROMPT, "a blue whale");
        }
    }
}
