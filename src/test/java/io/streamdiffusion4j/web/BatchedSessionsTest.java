package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.batching.BatchStats;
import io.streamdiffusion4j.batching.BatchingUnet;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cross-session batching in the server ({@code serve --gather-window-ms}): two sessions whose
 * UNet calls are stacked into one still each get exactly what their own pipeline, unbatched, fed
 * only their own frames with their own settings, makes (the original demo's issue #156 must not
 * come back through the shared call), and {@code /metrics} shows the batched calls and the
 * gather wait.
 */
class BatchedSessionsTest {
    private static StableDiffusionModels models;

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    @Test
    void twoBatchedSessionsEachGetOnlyTheirOwnImages() throws Exception {
        // a generous window: after their first frames, each session's call waits for the other's
        try (BatchingUnet batching = new BatchingUnet(models.unet(), Duration.ofSeconds(5));
             TestServer s = TestServer.start(models.withUnet(batching));
             WsClient a = WsClient.connect(s.ws("/ws"));
             WsClient b = WsClient.connect(s.ws("/ws"))) {
            String idA = a.nextOfType("hello").get("session").asText();
            String idB = b.nextOfType("hello").get("session").asText();
            b.send("{\"type\": \"settings\", \"prompt\": \"a lighthouse at night\", \"seed\": 99, \"strength\": \"strong\","
                    + " \"guidance_scale\": 1.6}");
            b.nextOfType("settings");
            try (StreamDiffusion refA = TestServer.reference(models);
                 StreamDiffusion refB = TestServer.reference(models, "a lighthouse at night", "", new int[] {22, 32, 45}, 1.6,
                         TestServer.DELTA, 99)) {
                for (int i = 0; i < 6; i++) {
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
            BatchStats st = batching.stats();
            assertThat(st.modelCalls()).as("the sessions' calls were stacked: %s", st).isLessThan(st.streamCalls());
            Scrape m = Scrape.of(s.http("/metrics"));
            assertThat(m.value("sd4j_unet_model_calls_total")).isEqualTo(st.modelCalls());
            assertThat(m.value("sd4j_unet_calls_total")).isEqualTo(st.streamCalls());
            assertThat(m.value("sd4j_unet_gather_wait_seconds_count")).isEqualTo(st.modelCalls());
            assertThat(m.value("sd4j_unet_batch_sessions_max")).isEqualTo(2);
        }
    }
}
