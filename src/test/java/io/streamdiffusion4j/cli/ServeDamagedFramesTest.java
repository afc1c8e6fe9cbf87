package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.TestImages;
import io.streamdiffusion4j.testing.ChildJvm;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 1, through the web server: one session sends damaged JPEGs (one without its
 * start of scan crashed the whole server on the next frame, one with a bad Huffman table made it
 * refuse every later frame of every session); the other session's frames still come back, and so
 * do the sender's own. The server runs in a child JVM, so that a crash fails this test instead
 * of killing the test run.
 */
class ServeDamagedFramesTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void aDamagedJpegFromOneSessionHarmsNoOtherFrame(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("serve.log");
        Process server = ChildJvm.command(dir.resolve("crashes"), List.of(), Main.class.getName(),
                "serve", "--model", "tiny", "--width", "64", "--height", "64", "--port", "0")
                .redirectOutput(log.toFile()).start();
        try {
            int port = awaitPort(server, log);
            Client a = Client.open(port);
            Client b = Client.open(port);
            ImageCodec codec = ImageCodec.best();
            byte[] frameA = codec.encodeJpeg(TestImages.gradient(64, 64, 1), 90);
            byte[] frameB = codec.encodeJpeg(TestImages.gradient(64, 64, 2), 90);
            a.frameComesBack(frameA, server, log);
            b.frameComesBack(frameB, server, log);
            for (Map.Entry<String, byte[]> damaged : TestImages.damagedJpegs(frameA, true).entrySet()) {
                a.ws.sendBinary(ByteBuffer.wrap(damaged.getValue()), true).join();
                assertThat(a.nextError(server, log)).as(damaged.getKey()).contains("\"code\":\"bad_frame\"");
                b.frameComesBack(frameB, server, log);
                a.frameComesBack(frameA, server, log);
            }
            assertThat(server.isAlive()).as(Files.readString(log)).isTrue();
            a.ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").join();
            b.ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").join();
        } finally {
            server.destroy();
            if (!server.waitFor(30, TimeUnit.SECONDS)) server.destroyForcibly();
        }
        assertThat(Files.readString(log)).doesNotContain("fatal error");
    }

    private static int awaitPort(Process server, Path log) throws Exception {
        Pattern open = Pattern.compile("serve: open http://127\\.0\\.0\\.1:(\\d+)/");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && server.isAlive()) {
            Matcher m = open.matcher(Files.readString(log));
            if (m.find()) return Integer.parseInt(m.group(1));
            Thread.sleep(100);
        }
        throw new AssertionError("the server did not start: " + Files.readString(log));
    }

    /** One WebSocket session: its text messages and binary frames, in order; a close ends both queues. */
    private record Client(WebSocket ws, BlockingQueue<String> texts, BlockingQueue<byte[]> frames) {
        private static final String CLOSED = "\u0000closed";

        static Client open(int port) throws Exception {
            BlockingQueue<String> texts = new LinkedBlockingQueue<>();
            BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
            WebSocket ws = HTTP.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws"),
                    new WebSocket.Listener() {
                        final StringBuilder text = new StringBuilder();

                        @Override
                        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                            text.append(data);
                            if (last) {
                                texts.add(text.toString());
                                text.setLength(0);
                            }
                            w.request(1);
                            return null;
                        }

                        @Override
                        public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                            byte[] b = new byte[data.remaining()];
                            data.get(b);
                            frames.add(b);
                            w.request(1);
                            return null;
                        }

                        @Override
                        public CompletionStage<?> onClose(WebSocket w, int status, String reason) {
                            texts.add(CLOSED + " " + status + " " + reason);
                            return null;
                        }

                        @Override
                        public void onError(WebSocket w, Throwable error) {
                            texts.add(CLOSED + " " + error);
                        }
                    }).get(30, TimeUnit.SECONDS);
            return new Client(ws, texts, frames);
        }

        void frameComesBack(byte[] jpeg, Process server, Path log) throws Exception {
            frames.clear();
            ws.sendBinary(ByteBuffer.wrap(jpeg), true).join();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                byte[] f = frames.poll(200, TimeUnit.MILLISECONDS);
                if (f != null) {
                    assertThat(ImageCodec.best().decode(f).width()).isEqualTo(64);
                    return;
                }
                String closed = texts.stream().filter(t -> t.startsWith(CLOSED)).findFirst().orElse(null);
                if (closed != null || !server.isAlive()) {
                    throw new AssertionError("no frame back: " + closed + "; server alive: " + server.isAlive() + "\n"
                            + Files.readString(log));
                }
            }
            throw new AssertionError("no frame back within 60 s\n" + Files.readString(log));
        }

        String nextError(Process server, Path log) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                String t = texts.poll(200, TimeUnit.MILLISECONDS);
                if (t != null && (t.contains("\"type\":\"error\"") || t.startsWith(CLOSED))) return t;
                if (!server.isAlive()) throw new AssertionError("the server died\n" + Files.readString(log));
            }
            throw new AssertionError("no error message within 30 s\n" + Files.readString(log));
        }
    }
}
