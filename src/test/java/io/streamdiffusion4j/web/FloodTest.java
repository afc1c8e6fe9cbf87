package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.model.StableDiffusionModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 5: a client that sends small messages and never reads made the server queue one
 * reply per message without bound (RSS 194 MB to 1.44 GB in 18 s). The bounds are checked on the
 * server's own counters, not by timing or memory readings.
 */
class FloodTest {
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
    void aClientFloodingInvalidMessagesIsEndedAfterItsErrorBudget() throws Exception {
        try (TestServer s = TestServer.start(models); RawClient c = RawClient.webSocket(s.server.port(), "/ws", 4096)) {
            int sent = c.flood(RawClient.textFrame("x"), 200_000);
            LimitsTest.waitFor(() -> s.events.ended.containsValue(Ending.TOO_MANY_ERRORS));
            ServerCounters n = s.server.counters();
            assertThat(n.sessionsEndedForErrors()).isEqualTo(1);
            // the budget's burst, the one that ended it, and what refilled while the flood went on; nothing after the end
            assertThat(n.protocolErrors()).isBetween((long) SessionSocket.ERROR_BURST + 1, (long) SessionSocket.ERROR_BURST + 60)
                    .isLessThan(sent);
            assertThat(n.peakQueuedMessages()).isLessThanOrEqualTo(Outbox.MAX_QUEUED_MESSAGES);
            assertThat(n.peakQueuedBytes()).isLessThanOrEqualTo(Outbox.MAX_QUEUED_BYTES);
            assertThat(s.server.activeSessions()).as("its slot is free").isZero();
        }
    }

    /** What a client that reads is told: an error for each refused message in the budget, then why it ended, then 1008. */
    @Test
    void theErrorBudgetIsExplainedToAClientThatReads() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws"))) {
            c.nextOfType("hello");
            for (int i = 0; i < SessionSocket.ERROR_BURST + 10; i++) c.send("{\"type\": \"dance\"}");
            JsonNode ended = c.nextOfType("ended");
            assertThat(ended.get("reason").asText()).isEqualTo(Ending.TOO_MANY_ERRORS);
            assertThat(ended.get("message").asText()).contains("more than 30 refused messages").contains("dance");
            assertThat(c.awaitClose().code()).isEqualTo(Ending.POLICY_VIOLATION);
            ServerCounters n = s.server.counters();
            assertThat(n.errorRepliesSuppressed()).isEqualTo(1);
            assertThat(n.protocolErrors()).isBetween((long) SessionSocket.ERROR_BURST + 1, (long) SessionSocket.ERROR_BURST + 10);
        }
    }

    @Test
    void aClientThatNeverReadsGetsABoundedQueueAndIsEnded() throws Exception {
        try (TestServer s = TestServer.start(models); RawClient c = RawClient.webSocket(s.server.port(), "/ws", 4096)) {
            // valid messages, each answered with the settings (about 400 bytes): far more than any buffer holds
            c.flood(RawClient.textFrame("{\"type\":\"settings\"}"), 200_000);
            LimitsTest.waitFor(() -> s.events.ended.containsValue(Ending.NOT_READING));
            ServerCounters n = s.server.counters();
            assertThat(n.sessionsEndedNotReading()).isEqualTo(1);
            assertThat(n.droppedMessages()).isPositive();
            assertThat(n.peakQueuedMessages()).isEqualTo(Outbox.MAX_QUEUED_MESSAGES);
            assertThat(n.peakQueuedBytes()).isLessThanOrEqualTo(Outbox.MAX_QUEUED_BYTES);
            assertThat(n.protocolErrors()).isZero();
            assertThat(s.server.activeSessions()).isZero();
        }
    }
}
