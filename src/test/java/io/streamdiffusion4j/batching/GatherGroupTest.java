package io.streamdiffusion4j.batching;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Gathers of one group (stand-ins for the VAE encoder's, the UNet's and the VAE decoder's, each a
 * {@link Gatherer} that records its batches) and streams on threads of their own, put in place
 * with latches and the gatherers' own pending counts, never with sleeps. The window is long (20 s)
 * and a stall would wait it out: what is checked is whether any batch's window passed, and which
 * calls were stacked, not how fast anything ran.
 */
class GatherGroupTest {
    private static final Duration LONG = Duration.ofSeconds(20);
    private final List<ExecutorService> threads = new ArrayList<>();

    @AfterEach
    void stop() {
        threads.forEach(ExecutorService::shutdownNow);
    }

    /** A thread of its own for one stream, as each server session has. */
    private ExecutorService thread(String name) {
        ExecutorService t = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("stream-" + name).unstarted(r));
        threads.add(t);
        return t;
    }

    /** One gather whose calls carry the name of their stream; it records every batch. */
    private static final class Stage {
        final String name;
        final Gatherer<String> gatherer;
        final List<Batch> batches = new CopyOnWriteArrayList<>();
        volatile CountDownLatch holdStarted; // when set, the next batch signals this and waits for `hold`
        volatile CountDownLatch hold;

        Stage(GatherGroup group, String name) {
            this.name = name;
            this.gatherer = new Gatherer<>(group, (works, gathered) -> {
                batches.add(new Batch(List.copyOf(works), gathered));
                CountDownLatch h = hold;
                if (h != null) {
                    hold = null;
                    holdStarted.countDown();
                    try {
                        h.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
        }

        /** A call of stream {@code stream} (participant and lane as the VAE's: its thread, one size). */
        void call(String stream) {
            gatherer.submit("one size", Thread.currentThread(), stream);
        }

        /** Returns once {@code n} calls wait here (a caller seen pending has released the lock: it waits). */
        void awaitPending(int n) throws InterruptedException {
            long give = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (gatherer.pending() < n) {
                if (System.nanoTime() > give) throw new AssertionError(name + ": no " + n + " call(s) waiting after 10 s");
                Thread.onSpinWait();
            }
        }

        Batch last() {
            return batches.getLast();
        }

        boolean anyTimedOut() {
            return batches.stream().anyMatch(b -> b.gathered.timedOut());
        }

        @Override
        public String toString() {
            return name + " " + batches;
        }
    }

    private record Batch(List<String> streams, Gatherer.Gathered gathered) {}

    /** {@code stream}'s frames: {@code frames} rounds of the stages, from {@code first} on; then it leaves, as a closed session. */
    private static Runnable frames(GatherGroup group, String stream, List<Stage> stages, int first, int frames) {
        return () -> {
            for (int k = 0; k < frames * stages.size(); k++) stages.get((first + k) % stages.size()).call(stream);
            group.leave(Thread.currentThread());
        };
    }

    /** The streams run {@code frames} frames in lockstep (a barrier before every call): present everywhere, their order known. */
    private static void inStep(List<Stage> stages, int frames, List<String> names, List<ExecutorService> on) throws Exception {
        CyclicBarrier barrier = new CyclicBarrier(names.size());
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            done.add(on.get(i).submit(() -> {
                for (int f = 0; f < frames; f++) {
                    for (Stage s : stages) {
                        barrier.await(10, TimeUnit.SECONDS);
                        s.call(name);
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) f.get(30, TimeUnit.SECONDS);
    }

    /**
     * The stall the group rules out: A's call waits in the encoder's gather for B, present there;
     * B's call comes to the UNet's gather, where A is present. Waiting for A, which waits in the
     * other gather, B would wait out the window, and A with it. In one group B runs at once, and
     * A's call is stacked with B's next one.
     */
    @Test
    void twoStreamsAStageApartDoNotWaitForEachOther() throws Exception {
        GatherGroup group = new GatherGroup(LONG);
        Stage encode = new Stage(group, "encode");
        Stage unet = new Stage(group, "unet");
        ExecutorService a = thread("A"), b = thread("B");
        // present in both gathers: a stream's first call of a gather runs at once
        a.submit(() -> { encode.call("A"); unet.call("A"); }).get(10, TimeUnit.SECONDS);
        b.submit(() -> { encode.call("B"); unet.call("B"); }).get(10, TimeUnit.SECONDS);

        Future<?> aEncodes = a.submit(() -> encode.call("A"));
        encode.awaitPending(1); // A leads the encoder's gather and waits for B, which is in no gather now
        // B is a stage ahead: its UNet call, then its next frame's encode
        Future<?> bCalls = b.submit(() -> { unet.call("B"); encode.call("B"); });
        aEncodes.get(10, TimeUnit.SECONDS);
        bCalls.get(10, TimeUnit.SECONDS);

        assertThat(unet.last().streams()).as("B's UNet call ran at once: A waits in the encoder's gather").containsExactly("B");
        assertThat(unet.last().gathered().timedOut()).isFalse();
        assertThat(encode.last().streams()).as("A's encode waited for B's, which came next").containsExactly("A", "B");
        assertThat(encode.last().gathered().timedOut()).isFalse();
        group.leave(threadOf(a));
        group.leave(threadOf(b));
    }

    private static Thread threadOf(ExecutorService t) throws Exception {
        return t.submit(Thread::currentThread).get(10, TimeUnit.SECONDS);
    }

    /** The same stall among three streams and three gathers, each waiting for the next: no one waits the window. */
    @Test
    void threeStreamsInACycleOfGathersDoNotWaitForEachOther() throws Exception {
        GatherGroup group = new GatherGroup(LONG);
        List<Stage> stages = List.of(new Stage(group, "encode"), new Stage(group, "unet"), new Stage(group, "decode"));
        ExecutorService a = thread("A"), b = thread("B"), c = thread("C");
        // present everywhere, one after the other: a stream's first call of a gather runs at once
        a.submit(() -> stages.forEach(s -> s.call("A"))).get(10, TimeUnit.SECONDS);
        b.submit(() -> stages.forEach(s -> s.call("B"))).get(10, TimeUnit.SECONDS);
        c.submit(() -> stages.forEach(s -> s.call("C"))).get(10, TimeUnit.SECONDS);
        // A waits at the encoder for B and C; B at the UNet for A (skipped: waiting elsewhere) and C; then C comes
        // to the decoder, where A and B are present. Each then goes on with its frames, in its own order
        Future<?> fa = a.submit(frames(group, "A", stages, 0, 4));
        stages.get(0).awaitPending(1);
        Future<?> fb = b.submit(frames(group, "B", stages, 1, 4));
        stages.get(1).awaitPending(1);
        Future<?> fc = c.submit(frames(group, "C", stages, 2, 4));
        for (Future<?> f : List.of(fa, fb, fc)) f.get(30, TimeUnit.SECONDS);

        Stage decode = stages.get(2);
        Batch firstOfC = decode.batches.stream().filter(x -> x.streams().contains("C")).skip(1).findFirst().orElseThrow();
        assertThat(firstOfC.streams()).as("C ran at once: A and B wait in other gathers").containsExactly("C");
        assertThat(stages).as("no window passed: nobody waited for a stream waiting in another gather").noneMatch(Stage::anyTimedOut);
    }

    /**
     * The control: the same three gathers each on its own (as when the UNet and the VAE were
     * batched apart) do stall: A waits the (short) window in the encoder's gather for B, which
     * waits in the UNet's.
     */
    @Test
    void gathersOnTheirOwnStallAStageApart() throws Exception {
        Duration window = Duration.ofMillis(200);
        Stage encode = new Stage(new GatherGroup(window), "encode");
        Stage unet = new Stage(new GatherGroup(window), "unet");
        ExecutorService a = thread("A"), b = thread("B");
        a.submit(() -> { encode.call("A"); unet.call("A"); }).get(10, TimeUnit.SECONDS);
        b.submit(() -> { encode.call("B"); unet.call("B"); }).get(10, TimeUnit.SECONDS);
        Future<?> aEncodes = a.submit(() -> encode.call("A"));
        encode.awaitPending(1);
        Future<?> bUnet = b.submit(() -> unet.call("B"));
        aEncodes.get(10, TimeUnit.SECONDS);
        bUnet.get(10, TimeUnit.SECONDS);
        assertThat(encode.last().gathered().timedOut()).as("A waited out the window for B").isTrue();
        assertThat(unet.last().gathered().timedOut()).as("B waited out the window for A").isTrue();
    }

    /**
     * Two streams out of step fall into step at their next common gather: B, ahead, waits at the
     * encoder for A, whose UNet call is running (A comes there after its decode), rather than
     * running on alone. From then on every call is stacked, and no window passes.
     */
    @Test
    void theStreamAheadWaitsForTheOneBehindAtTheNextCommonGather() throws Exception {
        GatherGroup group = new GatherGroup(LONG);
        Stage encode = new Stage(group, "encode"), unet = new Stage(group, "unet"), decode = new Stage(group, "decode");
        List<Stage> stages = List.of(encode, unet, decode);
        ExecutorService a = thread("A"), b = thread("B");
        inStep(stages, 2, List.of("A", "B"), List.of(a, b)); // present everywhere, each stream's order of gathers known
        assertThat(stages).noneMatch(Stage::anyTimedOut);

        // B leaves and comes back (its session changed its settings): out of step with A
        b.submit(() -> group.leave(Thread.currentThread())).get(10, TimeUnit.SECONDS);
        CountDownLatch unetRuns = new CountDownLatch(1), release = new CountDownLatch(1);
        unet.holdStarted = unetRuns;
        unet.hold = release;
        Future<?> aFrames = a.submit(() -> { for (int i = 0; i < 2; i++) stages.forEach(s -> s.call("A")); });
        assertThat(unetRuns.await(10, TimeUnit.SECONDS)).isTrue(); // A's UNet call runs, held there
        // B's frame: back, its calls run at once; its next frame's encode waits for A
        Future<?> bFrames = b.submit(() -> { for (int i = 0; i < 2; i++) stages.forEach(s -> s.call("B")); });
        encode.awaitPending(1);
        assertThat(decode.last().streams()).as("B's decode ran at once, alone").containsExactly("B");
        release.countDown();
        aFrames.get(10, TimeUnit.SECONDS);
        bFrames.get(10, TimeUnit.SECONDS);
        assertThat(encode.last().streams()).as("stacked at the encoder: B waited for A").containsExactly("B", "A");
        assertThat(unet.last().streams()).containsExactlyInAnyOrder("A", "B");
        assertThat(decode.last().streams()).containsExactlyInAnyOrder("A", "B");

        int[] before = stages.stream().mapToInt(s -> s.batches.size()).toArray();
        Future<?> fa = a.submit(frames(group, "A", stages, 0, 3));
        Future<?> fb = b.submit(frames(group, "B", stages, 0, 3));
        fa.get(30, TimeUnit.SECONDS);
        fb.get(30, TimeUnit.SECONDS);
        for (int i = 0; i < stages.size(); i++) {
            assertThat(stages.get(i).batches.subList(before[i], stages.get(i).batches.size())).as("in step: %s", stages.get(i))
                    .hasSize(3).allSatisfy(x -> assertThat(x.streams()).containsExactlyInAnyOrder("A", "B"));
        }
        assertThat(stages).noneMatch(Stage::anyTimedOut);
    }

    /**
     * A stream late for its encode catches up within the frame: A's encode waits out the window
     * for B (its client's frame is late), then A's UNet call waits for B, which comes to the UNet
     * right after its encode (its next gather but one), and their UNet calls are stacked.
     */
    @Test
    void aStreamLateForItsEncodeCatchesUpAtTheUnet() throws Exception {
        Duration window = Duration.ofSeconds(2); // A's encode waits it out; B's encode and UNet call take far less
        GatherGroup group = new GatherGroup(window);
        Stage encode = new Stage(group, "encode"), unet = new Stage(group, "unet"), decode = new Stage(group, "decode");
        List<Stage> stages = List.of(encode, unet, decode);
        ExecutorService a = thread("A"), b = thread("B");
        inStep(stages, 2, List.of("A", "B"), List.of(a, b));

        CountDownLatch bFrameCame = new CountDownLatch(1);
        Future<?> aFrame = a.submit(() -> stages.forEach(s -> s.call("A")));
        Future<?> bFrame = b.submit(() -> {
            bFrameCame.await(30, TimeUnit.SECONDS);
            stages.forEach(s -> s.call("B"));
            return null;
        });
        unet.awaitPending(1); // A's encode ran alone after the window; its UNet call waits for B
        assertThat(encode.last().streams()).containsExactly("A");
        assertThat(encode.last().gathered().timedOut()).isTrue();
        bFrameCame.countDown();
        aFrame.get(10, TimeUnit.SECONDS);
        bFrame.get(10, TimeUnit.SECONDS);
        assertThat(encode.last().streams()).as("B's encode: back after its absence, at once").containsExactly("B");
        assertThat(unet.last().streams()).as("caught up at the UNet").containsExactly("A", "B");
        assertThat(unet.last().gathered().timedOut()).isFalse();
        assertThat(decode.last().streams()).containsExactlyInAnyOrder("A", "B");
    }
}
