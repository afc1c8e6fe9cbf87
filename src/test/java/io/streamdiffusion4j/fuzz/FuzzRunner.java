package io.streamdiffusion4j.fuzz;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Runs a target over its seeds, its saved regression inputs, then mutated inputs, each on a
 * worker thread with a time limit (a hang is an input still running after it) and its heap
 * allocation measured (more than the limit is a failure: memory per input must be bounded by
 * the input, not by what it claims). Inputs whose outcome is new (a documented error thrown at a
 * place, with a message, not seen before) join the corpus, so mutation moves on from every
 * distinct way the parser refuses: coverage feedback without instrumentation. The random
 * sequence depends only on the seed and the target's name.
 */
public final class FuzzRunner {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** How long and how much: a number of mutated inputs, or (when seconds > 0) a time. */
    public record Budget(long inputs, double seconds, long timeoutMillis, long maxAllocatedBytes) {}

    private final FuzzTarget target;
    private final Path out;
    private final Consumer<byte[]> beforeEach;
    private final Map<String, FuzzReport.Failure> failures = new LinkedHashMap<>();
    private final Set<String> outcomes = new HashSet<>();
    private final List<byte[]> corpus = new ArrayList<>();
    private ExecutorService worker = newWorker();
    private long inputs;
    private long refused;
    private long maxAllocated;
    private long maxMillis;

    /**
     * @param out        where failing inputs are saved (one file per distinct failure)
     * @param beforeEach called with each input before it runs (the child JVM records it there, so a crash names its input)
     */
    public FuzzRunner(FuzzTarget target, Path out, Consumer<byte[]> beforeEach) {
        this.target = target;
        this.out = out;
        this.beforeEach = beforeEach;
    }

    public FuzzReport run(long seed, Budget budget) throws IOException {
        long start = System.nanoTime();
        List<byte[]> initial = new ArrayList<>(target.seeds().get());
        initial.addAll(regressionInputs(target.name()));
        for (byte[] in : initial) {
            corpus.add(in);
            runOne(in, budget);
        }
        long replayed = inputs;
        SplittableRandom random = new SplittableRandom(seed ^ target.name().hashCode());
        long deadline = start + (long) (budget.seconds() * 1e9);
        for (long i = 0; budget.seconds() > 0 ? System.nanoTime() < deadline : i < budget.inputs(); i++) {
            byte[] base = corpus.get(random.nextInt(corpus.size()));
            byte[] in = target.mutator().mutate(base, corpus, random);
            if (runOne(in, budget) && corpus.size() < 5000) corpus.add(in);
        }
        worker.shutdownNow();
        return new FuzzReport(target.name(), seed, replayed, inputs, refused, corpus.size(), maxAllocated, maxMillis,
                (System.nanoTime() - start) / 1e9, List.copyOf(failures.values()));
    }

    /** Runs one input; true when its outcome was new. */
    private boolean runOne(byte[] input, Budget budget) throws IOException {
        inputs++;
        beforeEach.accept(input);
        long t0 = System.nanoTime();
        Future<Outcome> f = worker.submit(() -> {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            Throwable thrown = null;
            try {
                target.check().run(input);
            } catch (Throwable t) {
                thrown = t;
            }
            return new Outcome(thrown, THREADS.getCurrentThreadAllocatedBytes() - before);
        });
        Outcome o;
        try {
            o = f.get(budget.timeoutMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            worker.shutdownNow(); // the stuck thread is abandoned (daemon); later inputs get a fresh one
            worker = newWorker();
            fail("hang", "hang", "still running after " + budget.timeoutMillis() + " ms", input);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        maxMillis = Math.max(maxMillis, millis);
        maxAllocated = Math.max(maxAllocated, o.allocated());
        Throwable t = o.thrown();
        if (o.allocated() > budget.maxAllocatedBytes()) {
            fail("memory", "memory", "allocated " + o.allocated() / 1_000_000 + " MB for a " + input.length
                    + "-byte input (limit " + budget.maxAllocatedBytes() / 1_000_000 + " MB)"
                    + (t == null ? "" : "; then threw " + t), input);
            return false;
        }
        if (t == null) return outcomes.add("ok");
        if (target.allows(t)) {
            if (t.getMessage() == null || t.getMessage().isBlank()) {
                fail("no-message", signature(t), "documented exception without a message: " + stackTrace(t), input);
                return false;
            }
            refused++;
            // the message without what it quotes from the input: the kind of refusal, not the input's text
            String message = t.getMessage().split("['\"]|found", 2)[0].replaceAll("[0-9]+", "#");
            return outcomes.add(signature(t) + ":" + message.substring(0, Math.min(40, message.length())));
        }
        fail(t instanceof Error ? "error" : "exception", signature(t), stackTrace(t), input);
        return false;
    }

    private record Outcome(Throwable thrown, long allocated) {}

    private void fail(String kind, String signature, String detail, byte[] input) throws IOException {
        FuzzReport.Failure seen = failures.get(signature);
        if (seen != null) {
            failures.put(signature, new FuzzReport.Failure(kind, signature, seen.detail(), seen.saved(), seen.count() + 1));
            return;
        }
        Files.createDirectories(out);
        Path file = out.resolve(kind + "-" + sha1(input).substring(0, 12) + ".bin");
        Files.write(file, input);
        Files.writeString(out.resolve(file.getFileName() + ".txt"), signature + "\n" + detail + "\n");
        failures.put(signature, new FuzzReport.Failure(kind, signature, detail, file.toString(), 1));
    }

    /** Exception type and where it was thrown: the project's own frame nearest the throw, else the top frame. */
    static String signature(Throwable t) {
        StackTraceElement[] st = t.getStackTrace();
        StackTraceElement at = st.length > 0 ? st[0] : null;
        for (StackTraceElement e : st) {
            if (e.getClassName().startsWith("io.streamdiffusion4j.") && !e.getClassName().startsWith("io.streamdiffusion4j.fuzz.")) {
                at = e;
                break;
            }
        }
        return t.getClass().getName() + (at == null ? "" : " at " + at.getClassName() + "." + at.getMethodName() + ":" + at.getLineNumber());
    }

    private static String stackTrace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        String s = w.toString();
        return s.length() > 4000 ? s.substring(0, 4000) + "..." : s;
    }

    static String sha1(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The inputs saved under src/test/resources/fuzz/NAME/ (on the test class path as fuzz/NAME/). */
    static List<byte[]> regressionInputs(String name) throws IOException {
        URL url = FuzzRunner.class.getResource("/fuzz/" + name);
        if (url == null) return List.of();
        Path dir;
        try {
            dir = Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        List<byte[]> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(Files::isRegularFile).sorted().toList()) out.add(Files.readAllBytes(p));
        }
        return out;
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-worker");
            t.setDaemon(true);
            return t;
        });
    }
}
