package io.streamdiffusion4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.RgbImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One client of the web demo, driven like the page drives it: it connects to the img2img
 * WebSocket ({@code /ws} of {@code serve}), waits for the hello, and sends JPEG frames of the
 * server's size (quality 85, as the page's canvas encoder) whenever fewer than two are
 * unanswered, at most at the server's max_fps. It measures what the page's overlay shows:
 * frames received per second and the time from a frame's sending to its generated image's
 * arrival. Frames are synthetic (a disc circling over a drifting gradient) and encoded before the
 * run, so the client's own JPEG encoding stays out of the figures.
 */
public final class WebClientBench {
    /** Frames sent and not yet answered: one in the model, one waiting (the page's MAX_IN_FLIGHT). */
    static final int MAX_IN_FLIGHT = 2;
    private static final int DISTINCT_FRAMES = 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param url the session's WebSocket, for example ws://127.0.0.1:7860/ws (add ?token=... when the server has one)
     * @param warmup generated frames received before measuring
     * @param frames generated frames measured
     * @param timeout the longest the whole run may take
     */
    public record Settings(URI url, int warmup, int frames, Duration timeout) {
        public Settings {
            if (warmup < 0 || frames < 2) {
                throw new IllegalArgumentException("need >= 0 warm-up frames and >= 2 measured frames, found " + warmup + " and " + frames);
            }
            String scheme = url.getScheme();
            if (scheme == null || !(scheme.equals("ws") || scheme.equals("wss"))) {
                throw new IllegalArgumentException("the URL must be ws:// or wss://, found '" + url + "'");
            }
        }
    }

    /** What one run measured. {@code latencyMillis}: from sending a frame to receiving the image generated from it. */
    public record Result(String url, int width, int height, int maxFps, int frames, double seconds, double framesPerSecond,
                         Spread latencyMillis, int sent, int unanswered, String codec, String loadBefore, String loadAfter) {}

    private final Settings settings;
    private final Consumer<String> progress;

    // state shared with the WebSocket listener's thread
    private final Object lock = new Object();
    private JsonNode hello;
    private String failure;
    private JsonNode pendingHeader;
    private int answeredSeq;
    private final Map<Integer, Long> sentAt = new HashMap<>();
    private final List<Long> arrivals = new ArrayList<>();
    private final List<Long> latencies = new ArrayList<>();

    public WebClientBench(Settings settings, Consumer<String> progress) {
        this.settings = settings;
        this.progress = progress;
    }

    public Result run() throws IOException, InterruptedException {
        String loadBefore = MachineFacts.loadAverage();
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        HttpClient http = HttpClient.newHttpClient();
        awaitReady(http, deadline);
        WebSocket ws;
        try {
            ws = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(settings.url(), new Listener())
                    .get(15, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            String why = e.getCause() instanceof java.net.http.WebSocketHandshakeException h
                    ? "the server answered HTTP " + h.getResponse().statusCode() + " instead of opening a WebSocket"
                    : e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
            throw new IOException("cannot open " + settings.url() + " (is `streamdiffusion4j serve` running there?): " + why, e);
        }
        try {
            JsonNode h = awaitHello(deadline);
            int width = h.path("width").asInt();
            int height = h.path("height").asInt();
            int maxFps = Math.max(1, h.path("max_fps").asInt(30));
            if (width <= 0 || height <= 0) throw new IOException("the server's hello has no usable width/height: " + h);
            ImageCodec codec = ImageCodec.best();
            List<byte[]> jpegs = new ArrayList<>();
            for (RgbImage f : SyntheticFrames.moving(DISTINCT_FRAMES, width, height)) jpegs.add(codec.encodeJpeg(f, 85));
            progress.accept("connected: " + width + "x" + height + ", max " + maxFps + " fps; sending frames");
            int sent = stream(ws, jpegs, maxFps, deadline);
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null).join();
            synchronized (lock) {
                int total = settings.warmup() + settings.frames();
                List<Long> measured = arrivals.subList(settings.warmup(), total);
                double seconds = (measured.getLast() - measured.getFirst()) / 1e9;
                // intervals between the measured arrivals: frames - 1 of them
                double fps = (measured.size() - 1) / seconds;
                double[] lat = latencies.subList(Math.min(settings.warmup(), latencies.size()), latencies.size()).stream()
                        .mapToDouble(n -> n / 1e6).toArray();
                return new Result(settings.url().toString(), width, height, maxFps, measured.size(), seconds, fps,
                        Spread.of(lat), sent, sent - answeredSeq, codec.name(), loadBefore, MachineFacts.loadAverage());
            }
        } finally {
            ws.abort();
            http.close();
        }
    }

    /**
     * Waits until the server's {@code /readyz} answers 200: {@code serve} listens while it loads and
     * warms up its models and refuses sessions until then. A server without {@code /readyz}
     * (404) is taken as ready; one that cannot be reached is left to the WebSocket to report.
     */
    private void awaitReady(HttpClient http, long deadline) throws IOException, InterruptedException {
        URI ws = settings.url();
        URI readyz = URI.create((ws.getScheme().equals("wss") ? "https" : "http") + "://" + ws.getRawAuthority() + "/readyz");
        boolean said = false;
        while (true) {
            int status;
            try {
                status = http.send(HttpRequest.newBuilder(readyz).timeout(Duration.ofSeconds(10)).GET().build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException unreachable) {
                return;
            }
            if (status != 503) return;
            if (System.nanoTime() > deadline) {
                throw new IOException(readyz + " still answers 503 (loading models or draining) after the bench's timeout");
            }
            if (!said) progress.accept("waiting for the server to be ready (" + readyz + " answers 503)");
            said = true;
            Thread.sleep(500);
        }
    }

    private JsonNode awaitHello(long deadline) throws IOException, InterruptedException {
        synchronized (lock) {
            while (hello == null && failure == null) await(deadline, Long.MAX_VALUE, "the server's hello");
            if (failure != null) throw new IOException(failure);
            return hello;
        }
    }

    /** Sends frames like the page's pump until warm-up + measured images have come back; returns the frames sent. */
    private int stream(WebSocket ws, List<byte[]> jpegs, int maxFps, long deadline) throws IOException, InterruptedException {
        long interval = 1_000_000_000L / maxFps;
        long lastSend = 0;
        long lastAnswer = System.nanoTime();
        int sentSeq = 0;
        int want = settings.warmup() + settings.frames();
        while (true) {
            synchronized (lock) {
                if (failure != null) throw new IOException(failure);
                if (arrivals.size() >= want) return sentSeq;
                long now = System.nanoTime();
                if (!arrivals.isEmpty()) lastAnswer = Math.max(lastAnswer, arrivals.getLast());
                // the page's patience: no answer for much longer than usual means a frame was dropped
                long patience = Math.max(2_000_000_000L, 3 * (latencies.isEmpty() ? 0 : latencies.getLast()));
                if (answeredSeq < sentSeq && now - Math.max(lastAnswer, lastSend) > patience) answeredSeq = sentSeq;
                boolean room = sentSeq - answeredSeq < MAX_IN_FLIGHT && now - lastSend >= interval;
                if (!room) {
                    // woken by an answer; otherwise look again in 5 ms, as the page's pump does
                    await(deadline, 5_000_000L, "generated frames (" + arrivals.size() + " of " + want + " came)");
                    continue;
                }
                sentSeq++;
                lastSend = now;
                sentAt.put(sentSeq, now);
            }
            try {
                ws.sendBinary(ByteBuffer.wrap(jpegs.get((sentSeq - 1) % jpegs.size())), true).get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IOException("sending frame " + sentSeq + " failed: " + e.getMessage(), e);
            }
        }
    }

    /** Waits on the lock (held) until notified, at most {@code maxNanos}; past the run's deadline it gives up. */
    private void await(long deadline, long maxNanos, String waitingFor) throws IOException, InterruptedException {
        long now = System.nanoTime();
        if (now >= deadline) {
            throw new IOException("timed out after " + settings.timeout().toSeconds() + " s waiting for " + waitingFor);
        }
        TimeUnit.NANOSECONDS.timedWait(lock, Math.min(maxNanos, deadline - now));
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder text = new StringBuilder();
        private final ByteArrayOutputStream binary = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                String message = text.toString();
                text.setLength(0);
                onMessage(message);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] chunk = new byte[data.remaining()];
            data.get(chunk);
            binary.writeBytes(chunk);
            if (last) {
                binary.reset();
                onImage(System.nanoTime());
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            fail("the server closed the session (" + status + (reason.isEmpty() ? "" : ": " + reason) + ")");
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            fail("the connection failed: " + error.getMessage());
        }
    }

    private void onMessage(String message) {
        JsonNode m;
        try {
            m = JSON.readTree(message);
        } catch (IOException e) {
            fail("the server sent text that is not JSON: " + abbreviate(message));
            return;
        }
        synchronized (lock) {
            switch (m.path("type").asText("")) {
                case "hello" -> hello = m;
                case "frame" -> pendingHeader = m;
                case "error", "full", "ended" -> {
                    if (failure == null) failure = "the server said " + m.path("type").asText() + ": " + m.path("message").asText();
                }
                default -> { } // settings and status messages carry nothing this measurement needs
            }
            lock.notifyAll();
        }
    }

    private void onImage(long now) {
        synchronized (lock) {
            JsonNode header = pendingHeader;
            pendingHeader = null;
            arrivals.add(now);
            if (header != null) {
                int input = header.path("input_seq").asInt(-1);
                Long sent = sentAt.remove(input);
                if (sent != null) latencies.add(now - sent);
                answeredSeq = Math.max(answeredSeq, input);
                sentAt.keySet().removeIf(k -> k <= input);
            }
            lock.notifyAll();
        }
    }

    private void fail(String message) {
        synchronized (lock) {
            if (failure == null) failure = message;
            lock.notifyAll();
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    /** The result as JSON. */
    public static String json(Result r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("url", r.url());
        o.put("width", r.width());
        o.put("height", r.height());
        o.put("server_max_fps", r.maxFps());
        o.put("frames", r.frames());
        o.put("seconds", r.seconds());
        o.put("frames_per_second", r.framesPerSecond());
        ObjectNode lat = o.putObject("latency_ms");
        lat.put("p10", r.latencyMillis().p10());
        lat.put("median", r.latencyMillis().median());
        lat.put("p90", r.latencyMillis().p90());
        lat.put("count", r.latencyMillis().count());
        o.put("frames_sent", r.sent());
        o.put("client_jpeg_codec", r.codec());
        o.put("load_average_before", r.loadBefore());
        o.put("load_average_after", r.loadAfter());
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the result as JSON", e);
        }
    }

    /** The result as one Markdown table row, with its header. */
    public static String markdown(Result r) {
        return "| size | frames/s | latency median (p10-p90) | frames measured | load average before; after |\n"
                + "|---|---|---|---|---|\n"
                + String.format(Locale.ROOT, "| %dx%d | %.2f | %.0f ms (%.0f-%.0f) | %d in %.1f s | %s; %s |%n", r.width(), r.height(),
                r.framesPerSecond(), r.latencyMillis().median(), r.latencyMillis().p10(), r.latencyMillis().p90(), r.frames(),
                r.seconds(), r.loadBefore(), r.loadAfter());
    }
}
