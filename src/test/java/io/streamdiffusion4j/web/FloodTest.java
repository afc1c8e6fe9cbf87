package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.util.List;
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
            // many times the budget, without reading; then stop, so that the server's answers can be read whole
            int sent = c.flood(RawClient.textFrame("x"), 2_000);
            LimitsTest.waitFor(() -> s.events.ended.containsValue(Ending.TOO_MANY_ERRORS));
            ServerCounters n = s.server.counters();
            assertThat(n.sessionsEndedForErrors()).isEqualTo(1);
            // the budget's burst, the one that ended it, and what refilled while the flood went on
            assertThat(n.protocolErrors()).isBetween((long) SessionSocket.ERROR_BURST + 1, (long) SessionSocket.ERROR_BURST + 30);
            assertThat(n.peakQueuedMessages()).isLessThanOrEqualTo(Outbox.MAX_QUEUED_MESSAGES);
            assertThat(n.peakQueuedBytes()).isLessThanOrEqualTo(Outbox.MAX_QUEUED_BYTES);
            assertThat(s.server.activeSessions()).as("its slot is free").isZero();

            // what the client finds when it does read: the hello, the errors it had budget for, why it ended, 1008
            List<RawClient.Frame> frames = c.readUntilClose();
            long errors = frames.stream().filter(f -> f.opcode() == 1 && f.text().contains("\"type\":\"error\"")).count();
            assertThat(errors).isEqualTo(n.protocolErrors() - 1).isLessThan(sent);
            assertThat(frames).anySatisfy(f -> assertThat(f.text()).contains("\"type\":\"ended\"").contains("refused messages"));
            assertThat(frames.getLast().opcode()).isEqualTo(8);
            assertThat(frames.getLast().closeCode()).isEqualTo(Ending.POLICY_VIOLATION);
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
