package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.batching.BatchStats;
import io.streamdiffusion4j.batching.CrossSessionBatching;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cross-session batching in the server ({@code serve --gather-window-ms}): two sessions whose
 * UNet, VAE encoder and VAE decoder calls are stacked still each get exactly what their own
 * pipeline, unbatched, fed only their own frames with their own settings, makes (the original
 * demo's issue #156 must not come back through the shared calls), no gather waits out its
 * (long) window for a session that waits in another gather, and {@code /metrics} shows the
 * batched calls and the gather waits of each model.
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
        // a generous window: after their first frames, each session's call waits for the other's; a session
        // waiting for one that waits in another gather would wait it out (the stall the gather group rules out)
        try (CrossSessionBatching batching = CrossSessionBatching.of(models, Duration.ofSeconds(5));
             TestServer s = TestServer.start(batching.models());
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
            BatchStats st = batching.unet().stats();
            BatchStats enc = batching.vae().encodeStats();
            BatchStats dec = batching.vae().decodeStats();
            assertThat(st.modelCalls()).as("the sessions' UNet calls were stacked: %s", st).isLessThan(st.streamCalls());
            assertThat(enc.modelCalls()).as("the sessions' encodes were stacked: %s", enc).isLessThan(enc.streamCalls());
            assertThat(dec.modelCalls()).as("the sessions' decodes were stacked: %s", dec).isLessThan(dec.streamCalls());
            assertThat(List.of(st, enc, dec)).as("no window passed").allSatisfy(x -> assertThat(x.timeouts()).isZero());
            Scrape m = Scrape.of(s.http("/metrics"));
            assertThat(m.value("sd4j_unet_model_calls_total")).isEqualTo(st.modelCalls());
            assertThat(m.value("sd4j_unet_calls_total")).isEqualTo(st.streamCalls());
            assertThat(m.value("sd4j_unet_gather_wait_seconds_count")).isEqualTo(st.modelCalls());
            assertThat(m.value("sd4j_unet_batch_sessions_max")).isEqualTo(2);
            assertThat(m.value("sd4j_vae_encode_model_calls_total")).isEqualTo(enc.modelCalls());
            assertThat(m.value("sd4j_vae_encode_model_rows_total")).isEqualTo(enc.rows());
            assertThat(m.value("sd4j_vae_encode_batch_sessions_sum")).as("the sessions' own encodes").isEqualTo(enc.streamCalls());
            assertThat(m.value("sd4j_vae_decode_gather_wait_seconds_count")).isEqualTo(dec.modelCalls());
            assertThat(m.value("sd4j_vae_decode_batch_sessions_max")).isEqualTo(2);
            assertThat(m.value("sd4j_vae_decode_gather_timeouts_total")).isZero();
        }
    }
}
