package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A test client on the JDK's WebSocket: every message lands in a queue (JSON text or byte[]). */
final class WsClient implements WebSocket.Listener, AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration WAIT = Duration.ofSeconds(30);

    /** How the server closed the socket. */
    record Close(int code, String reason) {}

    /** A frame header and its JPEG. */
    record Frame(JsonNode header, byte[] jpeg) {}

    private final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Close> closed = new CompletableFuture<>();
    private final StringBuilder text = new StringBuilder();
    private final ByteArrayOutputStream binary = new ByteArrayOutputStream();
    private WebSocket ws;

    static WsClient connect(URI uri) throws Exception {
        return connect(uri, Map.of());
    }

    static WsClient connect(URI uri, Map<String, String> headers) throws Exception {
        WsClient c = new WsClient();
        WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
        headers.forEach(b::header);
        c.ws = b.buildAsync(uri, c).get(30, TimeUnit.SECONDS);
        return c;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        text.append(data);
        if (last) {
            try {
                messages.add(JSON.readTree(text.toString()));
            } catch (Exception e) {
                messages.add(e);
            }
            text.setLength(0);
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        binary.writeBytes(b);
        if (last) {
            messages.add(binary.toByteArray());
            binary.reset();
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closed.complete(new Close(statusCode, reason));
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        closed.complete(new Close(-1, error.toString()));
    }

    void send(String json) {
        ws.sendText(json, true).join();
    }

    void send(byte[] data) {
        ws.sendBinary(ByteBuffer.wrap(data), true).join();
    }

    /** The next message of any kind (JsonNode or byte[]). */
    Object next() throws InterruptedException {
        return next(System.nanoTime() + WAIT.toNanos());
    }

    private Object next(long deadline) throws InterruptedException {
        Object m = messages.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (m == null) throw new AssertionError("no (matching) message from the server within " + WAIT.toSeconds() + " s");
        if (m instanceof Exception e) throw new AssertionError("malformed JSON from the server", e);
        return m;
    }

    /** The next JSON message matching, skipping everything else (status, frames), within the wait. */
    JsonNode nextJson(Predicate<JsonNode> matches) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            Object m = next(deadline);
            if (m instanceof JsonNode n && matches.test(n)) return n;
        }
    }

    JsonNode nextOfType(String type) throws InterruptedException {
        return nextJson(n -> type.equals(n.path("type").asText()));
    }

    /** The next frame header and its JPEG, skipping other messages; fails on an error message. */
    Frame nextFrame() throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            Object m = next(deadline);
            if (m instanceof JsonNode n) {
                if (n.path("type").asText().equals("error")) throw new AssertionError("server error: " + n);
                if (n.path("type").asText().equals("frame")) {
                    Object img = next();
                    if (!(img instanceof byte[] jpeg)) throw new AssertionError("frame header not followed by an image: " + img);
                    return new Frame(n, jpeg);
                }
            } else {
                throw new AssertionError("an image without a frame header");
            }
        }
    }

    /** Messages that arrive within the time, for checks that something does not come. */
    java.util.List<Object> drain(Duration d) throws InterruptedException {
        java.util.List<Object> out = new java.util.ArrayList<>();
        long end = System.nanoTime() + d.toNanos();
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0) return out;
            Object m = messages.poll(left, TimeUnit.NANOSECONDS);
            if (m != null) out.add(m);
        }
    }

    Close awaitClose() throws Exception {
        return closed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        if (!ws.isOutputClosed()) ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
        ws.abort();
    }
}
