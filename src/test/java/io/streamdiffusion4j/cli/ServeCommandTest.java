package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code serve} on the built-in tiny model: its options, the server it starts, its refusals. */
class ServeCommandTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static ServeCommand parse(String... args) {
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }

    @Test
    void servesThePageAndAnImg2ImgSessionOnTheBuiltInModel() throws Exception {
        ServeCommand cmd = parse("--model", "tiny", "--width", "64", "--height", "64", "--port", "0", "--max-sessions", "1");
        StringWriter log = new StringWriter();
        try (ServeCommand.Running running = cmd.start(new PrintWriter(log, true))) {
            URI base = running.server().uri();
            assertThat(base.getHost()).isEqualTo("127.0.0.1");
            assertThat(running.token()).as("local: no token needed").isNull();
            HttpResponse<String> page = HTTP.send(HttpRequest.newBuilder(base).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("streamdiffusion4j");
            HttpResponse<String> settings = HTTP.send(HttpRequest.newBuilder(base.resolve("api/settings")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(settings.body()).contains(ServeCommand.DEFAULT_PROMPT).contains("\"max_queue_size\":1");
            // the operator's endpoints: start() returns once the models are warm, so the server is ready
            assertThat(HTTP.send(HttpRequest.newBuilder(base.resolve("healthz")).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(200);
            assertThat(HTTP.send(HttpRequest.newBuilder(base.resolve("readyz")).build(), HttpResponse.BodyHandlers.ofString())
                    .body()).isEqualTo("ready\n");
            assertThat(HTTP.send(HttpRequest.newBuilder(base.resolve("metrics")).build(), HttpResponse.BodyHandlers.ofString())
                    .body()).contains("sd4j_sessions_max 1.0");

            // one frame through a session
            PageSession session = PageSession.open(base.getPort(), "hello");
            assertThat(session.text().get(30, TimeUnit.SECONDS)).contains("\"width\":64").contains("\"height\":64");
            session.sendFrame();
            assertThat(session.image().get(60, TimeUnit.SECONDS)).isNotEmpty();
            session.ws().sendClose(WebSocket.NORMAL_CLOSURE, "done").join();
        }
        assertThat(log.toString()).contains("session").contains("(img2img) started");
    }

    /** --gather-window-ms turns cross-session batching on: the sessions share a batching UNet and VAE, and /metrics shows them. */
    @Test
    void crossSessionBatchingIsAnOption() throws Exception {
        ServeCommand cmd = parse("--model", "tiny", "--width", "64", "--height", "64", "--port", "0", "--max-sessions", "2",
                "--gather-window-ms", "20");
        StringWriter log = new StringWriter();
        try (ServeCommand.Running running = cmd.start(new PrintWriter(log, true))) {
            assertThat(running.batching()).isNotNull();
            assertThat(running.batching().window()).isEqualTo(java.time.Duration.ofMillis(20));
            String metrics = HTTP.send(HttpRequest.newBuilder(running.server().uri().resolve("metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("sd4j_unet_gather_wait_seconds_count 0").contains("sd4j_unet_model_calls_total 0.0")
                    .contains("sd4j_vae_encode_model_calls_total 0.0").contains("sd4j_vae_decode_gather_wait_seconds_count 0");
            assertThat(io.streamdiffusion4j.batching.BatchingVae.behind(running.batching().models().vae()))
                    .as("the sessions' VAE is the batching one").containsSame(running.batching().vae());
        }
        assertThat(log.toString()).contains("cross-session batching").contains("at most 20.0 ms");
        try (ServeCommand.Running running = parse("--model", "tiny", "--width", "64", "--height", "64", "--port", "0")
                .start(new PrintWriter(new StringWriter(), true))) {
            assertThat(running.batching()).as("off by default").isNull();
        }
    }

    /**
     * --controlnet with --gather-window-ms (refused before the batching UNet carried residuals):
     * the sessions share a batching UNet that takes the residuals, and a session gets its image.
     */
    @Test
    void servesAControlNetWithCrossSessionBatching(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path cn = dir.resolve("cn");
        CliTest.Result created = CliTest.run("models", "create", "--config", "tiny-controlnet", "--to", cn.toString());
        assertThat(created.exitCode()).as(created.err()).isZero();
        ServeCommand cmd = parse("--model", "tiny", "--width", "64", "--height", "64", "--port", "0", "--max-sessions", "2",
                "--controlnet", cn + ":0.8", "--control-preprocessor", "canny", "--gather-window-ms", "5");
        StringWriter log = new StringWriter();
        try (ServeCommand.Running running = cmd.start(new PrintWriter(log, true))) {
            assertThat(running.batching()).isNotNull();
            assertThat(running.batching().unet().acceptsResiduals()).as("the batching UNet takes the residuals").isTrue();
            PageSession page = PageSession.open(running.server().port(), "hello");
            page.sendFrame();
            assertThat(page.image().get(60, TimeUnit.SECONDS)).isNotEmpty();
            assertThat(running.batching().unet().stats().streamCalls()).as("the session's UNet calls went through the batcher")
                    .isPositive();
            page.ws().sendClose(WebSocket.NORMAL_CLOSURE, "done").join();
        }
        assertThat(log.toString()).contains("cross-session batching");
    }

    /**
     * --ip-adapter and --style-image: the sessions run the adapter (built into the model's UNet once,
     * shared) and start with the style image, also with cross-session batching; the page is told.
     */
    @Test
    void servesAnIpAdapterWithAStartingStyleImage(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path adapter = dir.resolve("adapter");
        io.streamdiffusion4j.convert.RandomModels.create(io.streamdiffusion4j.convert.IpAdapterPreset.TINY, 0, adapter, null);
        ServeCommand cmd = parse("--model", "tiny", "--width", "64", "--height", "64", "--port", "0", "--max-sessions", "2",
                "--ip-adapter", adapter + ":0.5", "--style-image", "examples/frames/003.png", "--gather-window-ms", "5");
        StringWriter log = new StringWriter();
        try (ServeCommand.Running running = cmd.start(new PrintWriter(log, true))) {
            assertThat(running.batching()).isNotNull();
            PageSession page = PageSession.open(running.server().port(), "hello");
            assertThat(page.text().get(30, TimeUnit.SECONDS)).contains("\"ip_adapter\":{\"scale\":0.5,")
                    .contains("\"style_image\":true").contains("\"ip_adapter_scale\":0.5");
            page.sendFrame();
            assertThat(page.image().get(60, TimeUnit.SECONDS)).isNotEmpty();
            page.ws().sendClose(WebSocket.NORMAL_CLOSURE, "done").join();
        }
        assertThat(log.toString()).contains("serve: IP-Adapter " + adapter + " at scale 0.5")
                .contains("with the style image examples/frames/003.png");
    }

    @Test
    void anExposedServerGetsAGeneratedTokenUnlessOneIsGiven() throws Exception {
        ServeCommand cmd = parse("--model", "tiny", "--width", "64", "--height", "64", "--host", "0.0.0.0", "--port", "0");
        try (ServeCommand.Running running = cmd.start(new PrintWriter(new StringWriter(), true))) {
            assertThat(running.token()).matches("[0-9a-f]{32}");
            URI base = URI.create("http://127.0.0.1:" + running.server().port() + "/");
            assertThat(HTTP.send(HttpRequest.newBuilder(base).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(401);
            assertThat(HTTP.send(HttpRequest.newBuilder(base.resolve("?token=" + running.token())).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
    }

    /**
     * SIGTERM (as Ctrl-C) while a session streams: the server drains (issue 14; DrainTest checks
     * the drain itself): the page is told to reconnect, and the process exits cleanly within
     * --drain-timeout.
     */
    @Test
    void aStopSignalEndsTheSessionsAndTheProcessCleanly(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path log = dir.resolve("serve.log");
        Process p = RunCommandTest.javaCommand(-1, "serve", "--model", "tiny", "--width", "64", "--height", "64", "--port", "0")
                .redirectOutput(log.toFile()).start();
        try {
            java.util.regex.Pattern open = java.util.regex.Pattern.compile("serve: open http://127\\.0\\.0\\.1:(\\d+)/");
            long deadline = System.nanoTime() + 120_000_000_000L;
            Integer port = null;
            while (port == null && System.nanoTime() < deadline && p.isAlive()) {
                java.util.regex.Matcher m = open.matcher(java.nio.file.Files.readString(log));
                if (m.find()) port = Integer.parseInt(m.group(1));
                else Thread.sleep(100);
            }
            assertThat(port).as(java.nio.file.Files.readString(log)).isNotNull();
            PageSession page = PageSession.open(port, "ended");
            page.sendFrame();
            assertThat(page.image().get(60, TimeUnit.SECONDS)).isNotEmpty();
            p.destroy(); // SIGTERM, handled like Ctrl-C
            assertThat(page.text().get(30, TimeUnit.SECONDS)).contains("shutting down").contains("\"reason\":\"draining\"")
                    .contains("\"reconnect\":true");
            long signalled = System.nanoTime();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(System.nanoTime() - signalled).as("exits within --drain-timeout (10 s)").isLessThan(10_000_000_000L);
            String out = java.nio.file.Files.readString(log);
            assertThat(out).doesNotContain("fatal error").contains("stopping: finishing").contains("serve: draining")
                    .contains("ended (draining)").contains("serve: stopped");
            assertThat(p.exitValue()).as(out).isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void badOptionsAreRefusedWithTheReason() {
        CliTest.Result r = CliTest.run("serve", "--model", "tiny", "--max-sessions", "0");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("max sessions must be at least 1");
        r = CliTest.run("serve", "--model", "tiny", "--frame-buffer-size", "2");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("frame_buffer_size must be 1");
        r = CliTest.run("serve", "--model", "tiny", "--access-token", "abcdefgh1234", "--no-access-token");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("contradict");
        r = CliTest.run("serve", "--model", "tiny", "--allow-origin", "example.org");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("not an origin");
        r = CliTest.run("serve", "--model", "tiny", "--static-shapes");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--static-shapes cannot be used");
        r = CliTest.run("serve", "--model", "tiny", "--drain-timeout", "0");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--drain-timeout must be in [1, 3600] seconds, found 0");
        r = CliTest.run("serve", "--model", "tiny", "--gather-window-ms", "-1");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--gather-window-ms must be in [0, 1000], found -1.0");
        r = CliTest.run("serve", "--model", "tiny", "--txt2img-t-index-list", "0,60");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("txt2img t_index_list entry 60 is outside [0, 49]");
    }

    /** A camera page's session, reduced to what these tests look at: the first whole text message naming a type, the first image. */
    private record PageSession(WebSocket ws, CompletableFuture<String> text, CompletableFuture<byte[]> image) {
        static PageSession open(int port, String type) throws Exception {
            CompletableFuture<String> text = new CompletableFuture<>();
            CompletableFuture<byte[]> image = new CompletableFuture<>();
            WebSocket ws = HTTP.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws"), new WebSocket.Listener() {
                final StringBuilder message = new StringBuilder();

                @Override
                public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    message.append(data);
                    if (last) {
                        if (message.indexOf("\"" + type + "\"") >= 0) text.complete(message.toString());
                        message.setLength(0);
                    }
                    w.request(1);
                    return null;
                }

                @Override
                public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                    image.complete(new byte[data.remaining()]);
                    w.request(1);
                    return null;
                }
            }).get(30, TimeUnit.SECONDS);
            return new PageSession(ws, text, image);
        }

        /** Sends one black 64x64 JPEG, as the page sends a camera frame. */
        void sendFrame() throws Exception {
            byte[] frame = io.streamdiffusion4j.image.ImageCodec.best()
                    .encodeJpeg(new io.streamdiffusion4j.image.RgbImage(64, 64, new byte[64 * 64 * 3]), 90);
            ws.sendBinary(ByteBuffer.wrap(frame), true).join();
        }
    }
}
