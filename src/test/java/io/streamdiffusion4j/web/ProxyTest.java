package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.model.StableDiffusionModels;
import java.io.DataInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, several instances: two servers behind nginx on 127.0.0.1, with the repository's
 * configuration (deploy/nginx, docs/DEPLOY.md). Pages land on both; the original demo's two
 * requests of one session (/api/ws/{id}, /api/stream/{id}) meet on one instance; SIGTERM to
 * one instance tells its pages to reconnect and their new sessions land on the other; a
 * draining instance's 503 makes nginx move a new session on. Needs the nginx binary (.ci/run
 * installs it); without it the test fails and says so.
 */
class ProxyTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final int PAGES = 6;
    /**
     * Compat sessions, one after the other: at least this many, and more (up to {@link #MAX_USERS})
     * until both instances have some, as random ids hash to either.
     */
    private static final int USERS = 8;
    private static final int MAX_USERS = 40;

    private static StableDiffusionModels models;

    @BeforeAll
    static void load() throws Exception {
        NginxProxy.binary(); // fails at once, with how to install it
        // also makes the built-in tiny model in the test cache, so that two serve processes do not both make it
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        if (models != null) models.close();
    }

    @Test
    void pagesLandOnBothInstancesStayThereAndMoveToTheOtherWhenOneStops(@TempDir Path dir) throws Exception {
        int proxyPort = NginxProxy.freePort();
        String[] serve = {"--model", "tiny", "--width", "64", "--height", "64", "--max-sessions", "16",
                "--allow-host", "127.0.0.1:" + proxyPort};
        List<WsClient> pages = new ArrayList<>();
        Path nginxDir = Files.createDirectories(dir.resolve("nginx"));
        try (ServeProcess a = ServeProcess.start(dir.resolve("a.log"), serve);
             ServeProcess b = ServeProcess.start(dir.resolve("b.log"), serve);
             NginxProxy proxy = NginxProxy.start(nginxDir, proxyPort, a.port, b.port)) {
            String addrA = "127.0.0.1:" + a.port;
            String addrB = "127.0.0.1:" + b.port;
            assertThat(get(proxy, "/").body()).as(proxy.logs()).contains("streamdiffusion4j");
            assertThat(get(proxy, "/readyz").statusCode()).isEqualTo(200);
            assertThat(get(proxy, "/metrics").statusCode()).as("each instance is scraped itself").isEqualTo(404);

            // the built-in page's sessions: one WebSocket each, any instance
            for (int i = 0; i < PAGES; i++) {
                WsClient c = WsClient.connect(ws(proxy, "/ws"));
                pages.add(c);
                c.nextOfType("hello");
                c.send(TestServer.jpeg(20 * i, 60, 90));
                assertThat(c.nextFrame().jpeg()).isNotEmpty();
            }
            double pagesOnA = a.metrics().value("sd4j_sessions");
            double pagesOnB = b.metrics().value("sd4j_sessions");
            assertThat(pagesOnA + pagesOnB).isEqualTo(PAGES);
            assertThat(pagesOnA).as("pages on A").isPositive();
            assertThat(pagesOnB).as("pages on B").isPositive();

            // the original demo's sessions: the stream of each user id comes from the instance that has its WebSocket
            Map<UUID, String> streamedBy = new LinkedHashMap<>();
            while (streamedBy.size() < USERS
                    || (streamedBy.size() < MAX_USERS && !streamedBy.values().containsAll(List.of(addrA, addrB)))) {
                UUID user = UUID.randomUUID();
                streamedBy.put(user, compatSession(proxy, user, streamedBy.size()));
            }
            for (Map.Entry<UUID, String> e : streamedBy.entrySet()) {
                assertThat(lastUpstream(awaitLogLine(proxy, "GET /api/ws/" + e.getKey() + " 101 ")))
                        .as("the WebSocket of user %s reached the instance of its stream", e.getKey()).isEqualTo(e.getValue());
            }
            long usersOnA = streamedBy.values().stream().filter(addrA::equals).count();
            long usersOnB = streamedBy.values().stream().filter(addrB::equals).count();
            assertThat(usersOnA + usersOnB).isEqualTo(streamedBy.size());
            assertThat(usersOnA).as("users on A").isPositive();
            assertThat(usersOnB).as("users on B").isPositive();
            assertThat(a.metrics().value("sd4j_sessions_opened_total{kind=\"compat\"}")).isEqualTo(usersOnA);
            assertThat(b.metrics().value("sd4j_sessions_opened_total{kind=\"compat\"}")).isEqualTo(usersOnB);

            // SIGTERM to A: its pages are told to reconnect, B's go on
            a.process.destroy();
            assertThat(a.process.waitFor(60, TimeUnit.SECONDS)).as("A exits after draining").isTrue();
            assertThat(a.process.exitValue()).as(a.output()).isZero();
            List<WsClient> told = awaitClosed(pages, (int) pagesOnA);
            assertThat(told).as("A's pages, and only they, are closed").hasSize((int) pagesOnA);
            for (WsClient c : told) {
                JsonNode ended = c.nextOfType("ended");
                assertThat(ended.get("reason").asText()).isEqualTo(Ending.DRAINING);
                assertThat(ended.get("reconnect").asBoolean()).isTrue();
                assertThat(ended.get("message").asText()).contains("shutting down").contains("reconnect");
            }
            for (WsClient c : pages) {
                if (told.contains(c)) continue;
                c.send(TestServer.jpeg(200, 10, 10));
                assertThat(c.nextFrame().jpeg()).as("B's pages go on").isNotEmpty();
            }
            // the told pages start again, as the page's message asks: they land on B
            double openedOnB = b.metrics().value("sd4j_sessions_opened_total{kind=\"img2img\"}");
            for (int i = 0; i < told.size(); i++) {
                WsClient c = WsClient.connect(ws(proxy, "/ws"));
                pages.add(c);
                c.nextOfType("hello");
                c.send(TestServer.jpeg(10, 20 * i, 90));
                assertThat(c.nextFrame().jpeg()).isNotEmpty();
            }
            assertThat(b.metrics().value("sd4j_sessions_opened_total{kind=\"img2img\"}")).isEqualTo(openedOnB + told.size());
            assertThat(b.metrics().value("sd4j_sessions")).isEqualTo(PAGES);
            // and a user whose id hashed to A is served by B now
            UUID movedUser = streamedBy.entrySet().stream().filter(e -> e.getValue().equals(addrA)).findFirst().orElseThrow().getKey();
            assertThat(compatSession(proxy, movedUser, 0)).isEqualTo(addrB);
        } finally {
            for (WsClient c : pages) c.close();
        }
    }

    /**
     * The step nginx needs from the server: a draining instance (here held draining while it
     * still listens, which SIGTERM does only briefly) refuses new sessions with a plain 503
     * before any 101, so nginx moves each one to the other instance; the service stays ready.
     */
    @Test
    void aDrainingInstancesRefusalsAreRetriedOnTheOther(@TempDir Path dir) throws Exception {
        int proxyPort = NginxProxy.freePort();
        WebServerOptions options = WebServerOptions.defaults().withMaxSessions(16)
                .withAllowedHosts(List.of("127.0.0.1:" + proxyPort));
        List<WsClient> pages = new ArrayList<>();
        try (TestServer a = new TestServer(models, options);
             TestServer b = new TestServer(models, options);
             NginxProxy proxy = NginxProxy.start(dir, proxyPort, a.server.port(), b.server.port())) {
            assertThat(a.server.drain(Duration.ofSeconds(30))).isTrue();
            assertThat(a.server.activeSessions()).isZero();
            for (int i = 0; i < 4; i++) {
                WsClient c = WsClient.connect(ws(proxy, "/ws"));
                pages.add(c);
                c.nextOfType("hello");
                c.send(TestServer.jpeg(20 * i, 60, 90));
                assertThat(c.nextFrame().jpeg()).isNotEmpty();
            }
            String addrB = "127.0.0.1:" + b.server.port();
            List<UUID> users = List.of(UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID());
            for (int i = 0; i < users.size(); i++) assertThat(compatSession(proxy, users.get(i), i)).isEqualTo(addrB);
            assertThat(get(proxy, "/readyz").statusCode()).as("ready while one instance is").isEqualTo(200);
            assertThat(get(proxy, "/api/settings").statusCode()).isEqualTo(200);

            assertThat(a.events.opened).as("nothing started on the draining instance").isEmpty();
            assertThat(b.events.opened).hasSize(4 + users.size());
            assertThat(b.events.opened.keySet()).containsAll(users.stream().map(UUID::toString).toList());
            for (WsClient c : pages) c.close();
            pages.clear();
            // nginx asked A, got its 503 and moved the handshake on (it could not have after a 101)
            String retried = awaitLogLine(proxy, " 101 upstream=[127.0.0.1:" + a.server.port() + ", " + addrB + "]");
            assertThat(retried).as(String.join("\n", proxy.accessLog())).contains("answers=[503, 101]");
        } finally {
            for (WsClient c : pages) c.close();
        }
    }

    /**
     * One session of the original front end through the proxy, as it runs one: the WebSocket,
     * a frame, the stream of images; returns the instance that answered the stream.
     */
    private static String compatSession(NginxProxy proxy, UUID user, int i) throws Exception {
        try (WsClient c = WsClient.connect(ws(proxy, "/api/ws/" + user))) {
            c.nextJson(n -> n.path("status").asText().equals("send_frame"));
            c.send("{\"status\": \"next_frame\"}");
            c.send("{\"prompt\": \"a paper boat\", \"strength\": \"medium\", \"seed\": 5}");
            c.send(TestServer.jpeg(30, 10 * i, 200));
            HttpResponse<InputStream> stream = HTTP.send(HttpRequest.newBuilder(http(proxy, "/api/stream/" + user)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = stream.body()) {
                assertThat(stream.statusCode()).as(proxy.logs()).isEqualTo(200);
                byte[] jpeg = CompatApiTest.readPart(new DataInputStream(body));
                assertThat(ImageCodec.best().decode(jpeg).width()).isEqualTo(TestServer.SIZE);
                return lastOf(stream.headers().firstValue("X-Upstream").orElseThrow());
            }
        }
    }

    /** The pages closed within the time, once as many as expected have closed (and a moment more, for any other). */
    private static List<WsClient> awaitClosed(List<WsClient> pages, int expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (pages.stream().filter(c -> c.closed.isDone()).count() < expected && System.nanoTime() < deadline) Thread.sleep(20);
        Thread.sleep(1000);
        return pages.stream().filter(c -> c.closed.isDone()).toList();
    }

    /** The access log's line that contains the text, once nginx has written it (at the end of the request). */
    private static String awaitLogLine(NginxProxy proxy, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (String line : proxy.accessLog()) if (line.contains(text)) return line;
            Thread.sleep(50);
        }
        throw new AssertionError("no access log line with \"" + text + "\" in\n" + String.join("\n", proxy.accessLog()));
    }

    /** The instance that answered last, of a log line's upstream=[...]. */
    private static String lastUpstream(String line) {
        int start = line.indexOf("upstream=[") + "upstream=[".length();
        return lastOf(line.substring(start, line.indexOf(']', start)));
    }

    /** nginx lists every instance it tried, "A, B"; the last one answered. */
    private static String lastOf(String addresses) {
        return addresses.substring(addresses.lastIndexOf(' ') + 1);
    }

    private static HttpResponse<String> get(NginxProxy proxy, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(http(proxy, path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static URI http(NginxProxy proxy, String path) {
        return URI.create("http://127.0.0.1:" + proxy.port + path);
    }

    private static URI ws(NginxProxy proxy, String path) {
        return URI.create("ws://127.0.0.1:" + proxy.port + path);
    }
}
