package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.model.StableDiffusionModels;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 6: sessions that never send held their slot forever (the status sent every
 * second kept the connection from going idle, and the session timeout defaults to none). A
 * session with nothing from its client for the idle timeout ends with a message its page shows
 * (img2img.js and txt2img.js show "ended" messages and keep them on screen).
 */
class IdleTimeoutTest {
    private static StableDiffusionModels models;

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    private static TestServer start(Duration idle) throws Exception {
        return new TestServer(models, WebServerOptions.defaults().withMaxSessions(1).withIdleTimeout(idle));
    }

    @Test
    void theDefaultEndsIdleSessions() {
        assertThat(WebServerOptions.defaults().idleTimeout()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void anIdleSessionEndsWithAMessageAndFreesItsSlot() throws Exception {
        for (String path : new String[] {"/ws", "/ws/txt2img"}) {
            try (TestServer s = start(Duration.ofSeconds(4)); WsClient c = WsClient.connect(s.ws(path))) {
                JsonNode ended;
                String stage = "hello";
                try {
                    c.nextOfType("hello");
                    stage = "ended";
                    ended = c.nextOfType("ended");
                } catch (AssertionError e) {
                    throw new AssertionError(path + ": no " + stage + "; opened " + s.events.opened + ", ended " + s.events.ended
                            + ", closed " + c.closed.getNow(null), e);
                }
                assertThat(ended.get("reason").asText()).as(path).isEqualTo(Ending.IDLE);
                assertThat(ended.get("message").asText()).contains("nothing came from this page for 4 s");
                assertThat(c.awaitClose().code()).isEqualTo(Ending.NORMAL);
                assertThat(s.server.activeSessions()).isZero();
                assertThat(s.server.counters().sessionsEndedIdle()).isEqualTo(1);
                // the slot is free for the next page
                try (WsClient next = WsClient.connect(s.ws(path))) {
                    next.nextOfType("hello");
                }
            }
        }
    }

    @Test
    void messagesKeepASessionAlive() throws Exception {
        try (TestServer s = start(Duration.ofSeconds(4)); WsClient c = WsClient.connect(s.ws("/ws"))) {
            c.nextOfType("hello");
            for (int i = 0; i < 16; i++) { // 8 s of settings messages, each well within the 4 s
                c.send("{\"type\": \"settings\"}");
                c.nextOfType("settings");
                Thread.sleep(500);
            }
            assertThat(s.events.ended).isEmpty();
            assertThat(s.server.activeSessions()).isEqualTo(1);
        }
    }

    @Test
    void theOriginalPageIsToldItsSessionTimedOut() throws Exception {
        try (TestServer s = start(Duration.ofSeconds(4)); WsClient c = WsClient.connect(s.ws("/api/ws/" + UUID.randomUUID()))) {
            // lcmLive.ts shows "Session timed out" for this status
            JsonNode timeout = c.nextJson(n -> n.path("status").asText().equals("timeout"));
            assertThat(timeout.get("message").asText()).isEqualTo("Your session has ended");
            assertThat(c.awaitClose().code()).isEqualTo(Ending.NORMAL);
        }
    }
}
