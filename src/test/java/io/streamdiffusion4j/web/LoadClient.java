package io.streamdiffusion4j.web;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * A bounded load test for {@code serve}: N clients speak the page's protocol at /ws (send JPEG
 * frames, at most {@code --in-flight} unanswered, at most {@code --fps} a second; read the
 * generated frames) for a fixed time, and report output frames/s, latency percentiles (frame
 * sent to its generated image received), errors, and the server's RSS and thread count sampled
 * from /proc. JDK only, so it runs as a single-file program, without a build:
 * <pre>
 *   java src/test/java/io/streamdiffusion4j/web/LoadClient.java --url ws://127.0.0.1:7860/ws \
 *        --clients 4 --minutes 3 --sample 10 --pid SERVER_PID
 * </pre>
 * Options: --url (loopback only), --clients N, --minutes M (fractions allowed), --fps F per
 * client, --in-flight K, --sample SECONDS (how often RSS and threads are printed), --pid (the
 * server's process, for RSS and threads), --reconnect SECONDS (each client closes and opens a
 * new session this often, to catch per-session leaks; 0 never). Exit status 0 when no client saw
 * an error and every client got images, 1 otherwise.
 */
public final class LoadClient {
    private static final Pattern INPUT_SEQ = Pattern.compile("\"input_seq\":(\\d+)");
    private static final Pattern TYPE = Pattern.compile("\"type\":\"(\\w+)\"");

    private record Options(URI url, int clients, double minutes, double fps, int inFlight, int sampleSeconds, long pid,
                           int reconnectSeconds) {}

    /** Everything all clients measured; thread-safe. */
    private static final class Totals {
        final AtomicLong framesSent = new AtomicLong();
        final AtomicLong framesReceived = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong sessions = new AtomicLong();
        final AtomicLong unexpectedCloses = new AtomicLong();
        final List<String> errorTexts = java.util.Collections.synchronizedList(new ArrayList<>());
        private final List<Long> latenciesNanos = new ArrayList<>(); // guarded by this

        synchronized void latency(long nanos) {
            latenciesNanos.add(nanos);
        }

        synchronized long[] latencies() {
            return latenciesNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = parse(args);
        if (!o.url().getHost().equals("127.0.0.1") && !o.url().getHost().equals("localhost") && !o.url().getHost().equals("[::1]")) {
            throw new IllegalArgumentException("the load test runs against this machine only (127.0.0.1, localhost, [::1]), found "
                    + o.url().getHost());
        }
        Totals totals = new Totals();
        long start = System.nanoTime();
        long end = start + (long) (o.minutes() * 60e9);
        System.out.printf("load: %d clients, %.1f min, <= %.0f fps and <= %d in flight per client, %s%n", o.clients(), o.minutes(),
                o.fps(), o.inFlight(), o.url());
        System.out.println("time_s  frames_out  fps_out  rss_mib  threads  sessions  errors");
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < o.clients(); i++) {
            int id = i;
            clients.add(Thread.ofPlatform().name("load-client-" + i).start(() -> runClient(id, o, totals, end)));
        }
        long nextSample = start;
        long lastFrames = 0;
        long lastAt = start;
        List<long[]> samples = new ArrayList<>();
        while (System.nanoTime() < end) {
            long now = System.nanoTime();
            if (now >= nextSample) {
                long frames = totals.framesReceived.get();
                double fps = now == lastAt ? 0 : (frames - lastFrames) / ((now - lastAt) / 1e9);
                long[] proc = proc(o.pid());
                samples.add(proc);
                System.out.printf("%6.0f  %10d  %7.1f  %6s  %7s  %8d  %6d%n", (now - start) / 1e9, frames, fps,
                        proc[0] < 0 ? "-" : Long.toString(proc[0] / 1024), proc[1] < 0 ? "-" : Long.toString(proc[1]),
                        totals.sessions.get(), totals.errors.get());
                lastFrames = frames;
                lastAt = now;
                nextSample += o.sampleSeconds() * 1_000_000_000L;
            }
            Thread.sleep(Math.max(1, Math.min(500, (nextSample - System.nanoTime()) / 1_000_000)));
        }
        for (Thread t : clients) t.join(30_000);
        long[] proc = proc(o.pid());
        samples.add(proc);
        double seconds = (System.nanoTime() - start) / 1e9;
        long[] lat = totals.latencies();
        System.out.printf("done: %.0f s, frames sent %d, images received %d (%.1f/s in all, %.1f/s per client)%n", seconds,
                totals.framesSent.get(), totals.framesReceived.get(), totals.framesReceived.get() / seconds,
                totals.framesReceived.get() / seconds / o.clients());
        System.out.printf("latency ms (frame sent -> its image received, %d images): p50 %.1f  p95 %.1f  p99 %.1f  max %.1f%n",
                lat.length, pct(lat, 50), pct(lat, 95), pct(lat, 99), lat.length == 0 ? 0 : lat[lat.length - 1] / 1e6);
        System.out.printf("errors %d, unexpected closes %d, sessions opened %d%n", totals.errors.get(), totals.unexpectedCloses.get(),
                totals.sessions.get());
        totals.errorTexts.stream().limit(10).forEach(e -> System.out.println("  error: " + e));
        if (o.pid() > 0) {
            long[] rss = samples.stream().mapToLong(s -> s[0]).filter(v -> v > 0).toArray();
            long[] threads = samples.stream().mapToLong(s -> s[1]).filter(v -> v > 0).toArray();
            if (rss.length > 0) {
                System.out.printf("server RSS MiB: first %d, min %d, max %d, last %d; threads: first %d, min %d, max %d, last %d%n",
                        rss[0] / 1024, Arrays.stream(rss).min().getAsLong() / 1024, Arrays.stream(rss).max().getAsLong() / 1024,
                        rss[rss.length - 1] / 1024, threads[0], Arrays.stream(threads).min().getAsLong(),
                        Arrays.stream(threads).max().getAsLong(), threads[threads.length - 1]);
            }
        }
        boolean ok = totals.errors.get() == 0 && totals.unexpectedCloses.get() == 0 && totals.framesReceived.get() > 0;
        System.exit(ok ? 0 : 1);
    }

    private static double pct(long[] sorted, int p) {
        if (sorted.length == 0) return 0;
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }

    /** VmRSS in KiB and Threads of a process, from /proc; -1 when unknown. */
    private static long[] proc(long pid) {
        if (pid <= 0) return new long[] {-1, -1};
        try {
            long rss = -1;
            long threads = -1;
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("\\D", ""));
                if (line.startsWith("Threads:")) threads = Long.parseLong(line.replaceAll("\\D", ""));
            }
            return new long[] {rss, threads};
        } catch (IOException e) {
            return new long[] {-1, -1};
        }
    }

    /** One client: sessions one after another until the end (a new one every --reconnect seconds). */
    private static void runClient(int id, Options o, Totals totals, long end) {
        while (System.nanoTime() < end) {
            long sessionEnd = o.reconnectSeconds() > 0 ? Math.min(end, System.nanoTime() + o.reconnectSeconds() * 1_000_000_000L) : end;
            try {
                runSession(id, o, totals, sessionEnd);
            } catch (Exception e) {
                totals.errors.incrementAndGet();
                totals.errorTexts.add("client " + id + ": " + e);
                sleep(1000);
            }
        }
    }

    private static void runSession(int id, Options o, Totals totals, long end) throws Exception {
        Session s = new Session(totals);
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
                .buildAsync(o.url(), s).get(30, TimeUnit.SECONDS);
        totals.sessions.incrementAndGet();
        String hello = s.hello.get(60, TimeUnit.SECONDS);
        int w = intField(hello, "width");
        int h = intField(hello, "height");
        byte[][] frames = new byte[8][];
        for (int i = 0; i < frames.length; i++) frames[i] = jpeg(w, h, id * 40 + i * 25);
        long gap = (long) (1e9 / o.fps());
        long next = System.nanoTime();
        long seq = 0;
        while (System.nanoTime() < end && !s.closed.isDone()) {
            long now = System.nanoTime();
            if (now < next || seq - s.answered.get() >= o.inFlight()) {
                Thread.sleep(1);
                // a frame the server dropped (replaced by a newer one) is never answered: give up on it after 5 s
                if (seq > s.answered.get() && now - s.sentAt.getOrDefault(s.answered.get() + 1, now) > 5_000_000_000L) {
                    s.answered.incrementAndGet();
                }
                continue;
            }
            seq++;
            s.sentAt.put(seq, System.nanoTime());
            ws.sendBinary(ByteBuffer.wrap(frames[(int) (seq % frames.length)]), true).get(30, TimeUnit.SECONDS);
            totals.framesSent.incrementAndGet();
            next = Math.max(next + gap, now);
        }
        if (s.closed.isDone()) {
            totals.unexpectedCloses.incrementAndGet();
            totals.errorTexts.add("client " + id + ": the server closed the session: " + s.closed.get());
            return;
        }
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(30, TimeUnit.SECONDS);
        s.closed.get(30, TimeUnit.SECONDS);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int intField(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(\\d+)").matcher(json);
        if (!m.find()) throw new IllegalStateException("no " + key + " in " + json);
        return Integer.parseInt(m.group(1));
    }

    /** A gradient frame (so the JPEG is not trivially small), different per client and index. */
    private static byte[] jpeg(int w, int h, int shift) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) img.setRGB(x, y, ((x + shift) & 0xff) << 16 | ((y * 2 + shift) & 0xff) << 8 | (shift * 3 & 0xff));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }

    /** The listener of one session: matches each generated image to the frame it came from. */
    private static final class Session implements WebSocket.Listener {
        final Totals totals;
        final CompletableFuture<String> hello = new CompletableFuture<>();
        final CompletableFuture<String> closed = new CompletableFuture<>();
        final Map<Long, Long> sentAt = new ConcurrentHashMap<>();
        final AtomicLong answered = new AtomicLong();
        private final StringBuilder text = new StringBuilder();
        private long pendingSeq = -1;

        Session(Totals totals) {
            this.totals = totals;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                String m = text.toString();
                text.setLength(0);
                Matcher t = TYPE.matcher(m);
                String type = t.find() ? t.group(1) : "";
                switch (type) {
                    case "hello" -> hello.complete(m);
                    case "frame" -> {
                        Matcher s = INPUT_SEQ.matcher(m);
                        pendingSeq = s.find() ? Long.parseLong(s.group(1)) : -1;
                    }
                    case "error", "full", "ended" -> {
                        totals.errors.incrementAndGet();
                        totals.errorTexts.add(m);
                    }
                    default -> { }
                }
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            if (last) {
                long now = System.nanoTime();
                totals.framesReceived.incrementAndGet();
                Long sent = sentAt.remove(pendingSeq);
                if (sent != null) totals.latency(now - sent);
                if (pendingSeq > answered.get()) answered.set(pendingSeq);
                sentAt.keySet().removeIf(k -> k < pendingSeq); // dropped by the server for newer ones
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            closed.complete(code + " " + reason);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.complete("error " + error);
        }
    }

    private static Options parse(String[] args) {
        Map<String, String> m = new java.util.HashMap<>(Map.of("--url", "ws://127.0.0.1:7860/ws", "--clients", "4", "--minutes", "3",
                "--fps", "30", "--in-flight", "2", "--sample", "10", "--pid", "0", "--reconnect", "0"));
        for (int i = 0; i < args.length; i++) {
            if (!m.containsKey(args[i]) || i + 1 >= args.length) {
                throw new IllegalArgumentException("unknown option or missing value: " + args[i] + "; options: " + m.keySet());
            }
            m.put(args[i], args[++i]);
        }
        return new Options(URI.create(m.get("--url")), Integer.parseInt(m.get("--clients")), Double.parseDouble(m.get("--minutes")),
                Double.parseDouble(m.get("--fps")), Integer.parseInt(m.get("--in-flight")), Integer.parseInt(m.get("--sample")),
                Long.parseLong(m.get("--pid")), Integer.parseInt(m.get("--reconnect")));
    }
}
