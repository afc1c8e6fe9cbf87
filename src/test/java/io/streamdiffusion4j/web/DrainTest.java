package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.model.StableDiffusionModels;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: draining, what SIGTERM does to {@code serve} (the command's signal handler calls
 * {@link WebServer#drain}; ServeCommandTest sends the real signal). The frames already in a
 * session's pipeline are finished and sent, then the page is told to reconnect; a session that
 * tries to start meanwhile is refused with a plain 503 at its handshake (which a reverse proxy
 * retries on another server: ProxyTest); /readyz says so.
 */
class DrainTest {
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

    /** Holds the session's model thread when it applies a settings change, until released. */
    private static final class HeldModel implements SessionEvents {
        final CountDownLatch held = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch ended = new CountDownLatch(1);

        @Override
        public void settingsApplied(String session, StreamSettings settings) {
            held.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void ended(String session, String reason) {
            ended.countDown();
        }
    }

    @Test
    void framesInThePipelineAreFinishedAndSentThenThePageIsToldToReconnect() throws Exception {
        HeldModel events = new HeldModel();
        WebServer server = new WebServer(WebServerOptions.defaults().withPort(0), TestServer.factory(models), events);
        server.start();
        Thread drain = null;
        try (WsClient c = WsClient.connect(java.net.URI.create("ws://127.0.0.1:" + server.port() + "/ws"))) {
            java.net.URI metrics = java.net.URI.create("http://127.0.0.1:" + server.port() + "/metrics");
            c.nextOfType("hello");
            // the model thread takes frame 1, applies the settings first and is held there; frame 2
            // enters the pipeline behind it: two frames in flight when the drain starts
            c.send("{\"type\": \"settings\", \"prompt\": \"a lighthouse\"}");
            c.send(TestServer.jpeg(10, 60, 90));
            assertThat(events.held.await(30, TimeUnit.SECONDS)).isTrue();
            c.send(TestServer.jpeg(90, 60, 10));
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (Scrape.of(metrics).value("sd4j_frames_in_total") < 2 && System.nanoTime() < deadline) Thread.sleep(5);
            assertThat(Scrape.of(metrics).value("sd4j_frames_in_total")).isEqualTo(2);

            AtomicBoolean drained = new AtomicBoolean();
            drain = Thread.ofPlatform().start(() -> {
                try {
                    drained.set(server.drain(Duration.ofSeconds(30)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(events.ended.await(30, TimeUnit.SECONDS)).as("the session is ending").isTrue();
            events.release.countDown(); // the model goes on, with the session already ended
            drain.join(60_000);
            assertThat(drained.get()).as("drained within the time").isTrue();

            List<Long> answered = new ArrayList<>();
            JsonNode ended = null;
            while (ended == null) {
                Object m = c.next();
                if (m instanceof JsonNode n && n.path("type").asText().equals("frame")) answered.add(n.get("input_seq").asLong());
                if (m instanceof JsonNode n && n.path("type").asText().equals("ended")) ended = n;
            }
            assertThat(answered).as("both frames in flight were finished and sent, before the ended message")
                    .containsExactly(1L, 2L);
            assertThat(ended.get("reason").asText()).isEqualTo(Ending.DRAINING);
            assertThat(ended.get("reconnect").asBoolean()).isTrue();
            assertThat(ended.get("message").asText()).contains("shutting down").contains("reconnect");
            assertThat(c.awaitClose().code()).isEqualTo(Ending.GOING_AWAY);

            Scrape after = Scrape.of(metrics);
            assertThat(after.value("sd4j_frames_out_total")).isEqualTo(2);
            assertThat(after.value("sd4j_frames_dropped_total{reason=\"engine_input\"}")).isZero();
            assertThat(after.value("sd4j_frames_dropped_total{reason=\"not_sent\"}")).isZero();
            assertThat(after.value("sd4j_sessions_ended_total{reason=\"draining\"}")).isEqualTo(1);
            assertThat(server.activeSessions()).isZero();
        } finally {
            events.release.countDown();
            if (drain != null) drain.join(60_000);
            server.close();
        }
    }

    /** The bound: a session whose model call does not end keeps the drain no longer than its timeout. */
    @Test
    void aDrainGivesUpAtItsTimeoutAndSaysHowManySessionsAreStillBusy() throws Exception {
        HeldModel events = new HeldModel();
        WebServer server = new WebServer(WebServerOptions.defaults().withPort(0), TestServer.factory(models), events);
        server.start();
        try (WsClient c = WsClient.connect(java.net.URI.create("ws://127.0.0.1:" + server.port() + "/ws"))) {
            c.nextOfType("hello");
            c.send("{\"type\": \"settings\", \"prompt\": \"a lighthouse\"}");
            c.send(TestServer.jpeg(10, 60, 90));
            assertThat(events.held.await(30, TimeUnit.SECONDS)).isTrue();
            long start = System.nanoTime();
            assertThat(server.drain(Duration.ofSeconds(1))).as("the held session cannot finish").isFalse();
            assertThat(System.nanoTime() - start).isBetween(1_000_000_000L, 10_000_000_000L);
            assertThat(server.closingPipelines()).isEqualTo(1);
            events.release.countDown();
            // released, the session finishes its frame, is told, and its pipeline closes
            JsonNode ended = c.nextOfType("ended");
            assertThat(ended.get("reason").asText()).isEqualTo(Ending.DRAINING);
            assertThat(server.drain(Duration.ofSeconds(30))).isTrue();
            assertThat(server.closingPipelines()).isZero();
        } finally {
            events.release.countDown();
            server.close();
        }
    }

    /**
     * A new session is refused before its WebSocket exists, with a plain 503, and so is every
     * /api/* call that would start one: a reverse proxy in front of several servers retries those
     * on another server (deploy/nginx), which it cannot do once it has passed on a 101.
     */
    @Test
    void whileDrainingNewSessionsAndApiCallsAreRefusedWith503() throws Exception {
        try (TestServer s = TestServer.start(models)) {
            assertThat(s.server.drain(Duration.ofSeconds(30))).isTrue();
            HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(s.http("/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(503);
            for (String path : new String[] {"/ws", "/ws/txt2img", "/api/ws/" + UUID.randomUUID()}) {
                assertThat(LimitsTest.handshakeStatus(s, path, java.util.Map.of())).as(path).isEqualTo(503);
            }
            for (String path : new String[] {"/api/settings", "/api/queue", "/api/stream/" + UUID.randomUUID()}) {
                HttpResponse<String> r = LimitsTest.get(s, path, java.util.Map.of());
                assertThat(r.statusCode()).as(path).isEqualTo(503);
                assertThat(r.body()).as(path).contains("takes no new sessions");
            }
            assertThat(s.events.opened).isEmpty();
            assertThat(s.server.activeSessions()).isZero();
        }
    }

    @Test
    void everyKindOfSessionIsToldWhenTheServerDrains() throws Exception {
        try (TestServer s = TestServer.start(models);
             WsClient txt = WsClient.connect(s.ws("/ws/txt2img"));
             WsClient compat = WsClient.connect(s.ws("/api/ws/" + UUID.randomUUID()))) {
            txt.nextOfType("hello");
            compat.nextJson(n -> n.path("status").asText().equals("send_frame"));
            assertThat(s.server.drain(Duration.ofSeconds(30))).isTrue();
            JsonNode ended = txt.nextOfType("ended");
            assertThat(ended.get("reason").asText()).isEqualTo(Ending.DRAINING);
            assertThat(ended.get("reconnect").asBoolean()).isTrue();
            JsonNode error = compat.nextJson(n -> n.path("status").asText().equals("error"));
            assertThat(error.get("message").asText()).contains("shutting down");
            assertThat(s.events.ended.values()).containsOnly(Ending.DRAINING);
        }
    }
}
