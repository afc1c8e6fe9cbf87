package io.streamdiffusion4j.batching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInModels;
import io.streamdiffusion4j.testing.StandInUnet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The batching UNet (and VAE) on the row-independent stand-in models: rows stacked in one call
 * and split back to their streams, streams leaving and changing shape, the bounded wait for a
 * stream that stops calling, and a lone stream's frames bit for bit those of the unbatched path. Waits are
 * checked by what the batcher counts (timeouts, calls), never by how fast anything ran.
 */
class BatchingUnetTest {
    private static final Duration LONG = Duration.ofSeconds(20); // never reached when every stream calls
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final StreamThreads threads = new StreamThreads();

    @AfterEach
    void stop() {
        pool.shutdownNow();
        threads.close();
    }

    private record Stream(Unet.Conditioning conditioning, FloatTensor sample, long[] t, FloatTensor hidden) {}

    private static Stream stream(Unet unet, int rows, long seed, int h, int w) {
        TorchGenerator g = new TorchGenerator(seed);
        FloatTensor sample = g.randn(rows, StandInModels.LATENT_CHANNELS, h, w);
        FloatTensor hidden = g.randn(rows, 77, StandInModels.HIDDEN);
        long[] t = new long[rows];
        for (int r = 0; r < rows; r++) t[r] = 999 - 100 * r - seed;
        return new Stream(unet.prepare(sample.shape(), t, hidden), sample, t, hidden);
    }

    private static float[] call(Unet unet, Stream s) {
        float[] eps = new float[s.sample.size()];
        unet.predictNoiseInto(s.sample, s.conditioning, eps);
        return eps;
    }

    /** Calls on the stream's own thread, as a session's stream runs (a thread calling for two streams would wait for itself). */
    private Future<float[]> callAsync(Unet unet, Stream s) {
        return threads.submit(s, () -> call(unet, s));
    }

    /**
     * Calls of {@code first} and {@code second} gathered into one: {@code first} is submitted and
     * waits (for {@code second}, present since an earlier call) before {@code second} is.
     */
    private float[][] together(BatchingUnet unet, Stream first, Stream second) throws Exception {
        return threads.together(unet, first, () -> call(unet, first), second, () -> call(unet, second));
    }

    /** What the stand-in predicts for the stream's rows alone. */
    private static float[] alone(Stream s) {
        return new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN).predictNoise(s.sample, s.t, s.hidden).data();
    }

    @Test
    void callsOfPresentStreamsAreStackedIntoOneModelCallAndSplitBack() throws Exception {
        StandInUnet model = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
        try (BatchingUnet unet = new BatchingUnet(model, LONG)) {
            Stream a = stream(unet, 2, 1, 4, 4);
            Stream b = stream(unet, 3, 2, 4, 4);
            // first calls: a stream's first call never waits (the others may have just been served), and runs alone
            assertThat(call(unet, a)).containsExactly(alone(a));
            assertThat(call(unet, b)).containsExactly(alone(b));
            assertThat(model.calls).hasSize(2);

            float[][] both = together(unet, a, b); // a waits for b, which is present now
            assertThat(both[0]).containsExactly(alone(a));
            assertThat(both[1]).containsExactly(alone(b));
            assertThat(model.calls).as("one model call for both").hasSize(3);
            StandInUnet.Call stacked = model.calls.get(2);
            assertThat(stacked.sample().rows()).isEqualTo(5);
            assertThat(stacked.timesteps()).as("each stream's own timesteps, in participant order")
                    .containsExactly(999 - 1, 899 - 1, 999 - 2, 899 - 2, 799 - 2);
            assertThat(stacked.hiddenStates().data()).containsExactly(FloatTensor.concatRows(a.hidden, b.hidden).data());
            assertThat(stacked.sample().data()).containsExactly(FloatTensor.concatRows(a.sample, b.sample).data());

            BatchStats st = unet.stats();
            assertThat(st.streamCalls()).isEqualTo(4);
            assertThat(st.modelCalls()).isEqualTo(3);
            assertThat(st.rows()).isEqualTo(2 + 3 + 5);
            assertThat(st.timeouts()).isZero();
        }
    }

    @Test
    void aStreamThatLeavesOrChangesShapeIsNotWaitedFor() throws Exception {
        StandInUnet model = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
        try (BatchingUnet unet = new BatchingUnet(model, LONG)) {
            Stream a = stream(unet, 1, 1, 4, 4);
            Stream b = stream(unet, 1, 2, 4, 4);
            call(unet, a);
            call(unet, b);
            together(unet, a, b);
            assertThat(model.calls).hasSize(3);
            b.conditioning.close(); // b's session changed its settings (new conditioning) or ended
            // with b gone, a's call must not wait the 20 s window: it runs alone at once
            assertThat(callAsync(unet, a).get(10, TimeUnit.SECONDS)).containsExactly(alone(a));

            Stream bigger = stream(unet, 1, 3, 8, 8); // another size: another lane
            assertThat(call(unet, bigger)).containsExactly(alone(bigger));
            assertThat(callAsync(unet, a).get(10, TimeUnit.SECONDS)).as("a does not wait for a stream of another size")
                    .containsExactly(alone(a));
            assertThat(unet.stats().timeouts()).isZero();
            assertThat(model.calls.subList(3, model.calls.size())).allSatisfy(c -> assertThat(c.sample().rows()).isEqualTo(1));
            assertThatThrownBy(() -> call(unet, b)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        }
    }

    @Test
    void aStreamThatStopsCallingCostsTheOthersOneWindowOnce() throws Exception {
        StandInUnet model = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
        Duration window = Duration.ofMillis(200);
        ExecutorService bThread = Executors.newSingleThreadExecutor(); // b's stream has a thread of its own, as a session
        try (BatchingUnet unet = new BatchingUnet(model, window)) {
            Stream a = stream(unet, 1, 1, 4, 4);
            Stream b = stream(unet, 1, 2, 4, 4);
            call(unet, a);
            bThread.submit(() -> call(unet, b)).get(10, TimeUnit.SECONDS); // both present now; then b skips frames or stalls
            BatchStats before = unet.stats();
            for (int i = 0; i < 5; i++) assertThat(call(unet, a)).containsExactly(alone(a));
            BatchStats five = unet.stats().since(before);
            assertThat(five.modelCalls()).isEqualTo(5);
            assertThat(five.timeouts()).as("only the first call waited the window for b").isEqualTo(1);
            assertThat(five.waitNanos()).as("the one wait lasted the window").isGreaterThanOrEqualTo(window.toNanos());

            // b comes back: its first call runs at once (no wait for a), then it is present and in step again
            assertThat(bThread.submit(() -> call(unet, b)).get(10, TimeUnit.SECONDS)).containsExactly(alone(b));
            float[][] back = together(unet, a, b);
            assertThat(back[0]).containsExactly(alone(a));
            assertThat(back[1]).containsExactly(alone(b));
            assertThat(unet.stats().since(before).timeouts()).isEqualTo(1);
            assertThat(model.calls.getLast().sample().rows()).isEqualTo(2);
        } finally {
            bThread.shutdownNow();
        }
    }

    /**
     * Two streams whose VAE and UNet calls are all batched each make exactly the frames they make
     * alone, and no gather's window passes: the window is long, and a gather never waits for a
     * stream that waits in another (the streams run free after their first frame, so they are a
     * stage apart whenever one runs ahead).
     */
    @Test
    void twoStreamsWithBatchedVaeAndUnetGiveTheirOwnFrames() throws Exception {
        StableDiffusionModels am = StandInModels.create().models(true, 0.5f); // variational: the std is split too
        float[] expectedSelf = frames(am, CfgType.SELF);
        float[] expectedFull = frames(am, CfgType.FULL);
        StableDiffusionModels shared = StandInModels.create().models(true, 0.5f);
        try (CrossSessionBatching batching = CrossSessionBatching.of(shared, LONG)) {
            StableDiffusionModels m1 = ownTextEncoder(batching, "self");
            StableDiffusionModels m2 = ownTextEncoder(batching, "full");
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
            CompletableFuture<float[]> self = CompletableFuture.supplyAsync(() -> frames(m1, CfgType.SELF, start), pool);
            CompletableFuture<float[]> full = CompletableFuture.supplyAsync(() -> frames(m2, CfgType.FULL, start), pool);
            assertThat(self.get(60, TimeUnit.SECONDS)).containsExactly(expectedSelf);
            assertThat(full.get(60, TimeUnit.SECONDS)).containsExactly(expectedFull);
            assertThat(batching.vae().encodeCalls()).as("some encodes were stacked").isLessThan(24);
            assertThat(batching.vae().decodeCalls()).as("some decodes were stacked").isLessThan(24);
            assertNoWindowPassed(batching);
        }
    }

    /**
     * Three streams batched (UNet and VAE); one changes its size halfway (a session's new
     * settings: its stream is closed and another built): it leaves their gathers without a window
     * passing for the others, and every stream gets exactly its own frames.
     */
    @Test
    void aStreamThatChangesItsSizeLeavesTheOthersUndisturbed() throws Exception {
        float[] expectedSelf = frames(StandInModels.create().models(true, 0.5f), CfgType.SELF);
        float[] expectedFull = frames(StandInModels.create().models(true, 0.5f), CfgType.FULL);
        float[] expectedChanging = resized(StandInModels.create().models(true, 0.5f), null);
        StableDiffusionModels shared = StandInModels.create().models(true, 0.5f);
        try (CrossSessionBatching batching = CrossSessionBatching.of(shared, LONG)) {
            StableDiffusionModels m1 = ownTextEncoder(batching, "self");
            StableDiffusionModels m2 = ownTextEncoder(batching, "full");
            StableDiffusionModels m3 = ownTextEncoder(batching, "changing");
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(3);
            CompletableFuture<float[]> self = CompletableFuture.supplyAsync(() -> frames(m1, CfgType.SELF, start), pool);
            CompletableFuture<float[]> full = CompletableFuture.supplyAsync(() -> frames(m2, CfgType.FULL, start), pool);
            CompletableFuture<float[]> changing = CompletableFuture.supplyAsync(() -> resized(m3, start), pool);
            assertThat(self.get(60, TimeUnit.SECONDS)).containsExactly(expectedSelf);
            assertThat(full.get(60, TimeUnit.SECONDS)).containsExactly(expectedFull);
            assertThat(changing.get(60, TimeUnit.SECONDS)).containsExactly(expectedChanging);
            assertThat(batching.unet().stats().modelCalls()).as("calls were stacked").isLessThan(batching.unet().stats().streamCalls());
            assertNoWindowPassed(batching);
        }
    }

    /** Stand-in text encoder and tokenizer of its own (they record calls, not thread-safe); UNet and VAE shared and batched. */
    private static StableDiffusionModels ownTextEncoder(CrossSessionBatching batching, String name) {
        StableDiffusionModels own = StandInModels.create().models(true, 0.5f);
        return new StableDiffusionModels(own.tokenizer(), own.textEncoder(), batching.unet(), batching.models().vae(),
                own.schedulerConfig(), name);
    }

    private static void assertNoWindowPassed(CrossSessionBatching batching) {
        assertThat(batching.unet().stats().timeouts()).as("UNet: %s", batching.unet().stats()).isZero();
        assertThat(batching.vae().encodeStats().timeouts()).as("encoder: %s", batching.vae().encodeStats()).isZero();
        assertThat(batching.vae().decodeStats().timeouts()).as("decoder: %s", batching.vae().decodeStats()).isZero();
    }

    /**
     * Six frames at 32x32, then (its stream closed, another built, as a session whose size
     * changed) six at 48x32, in one array; waiting at {@code start} as {@link #frames} does.
     */
    private static float[] resized(StableDiffusionModels models, java.util.concurrent.CyclicBarrier start) {
        List<FloatTensor> out = new ArrayList<>();
        TorchGenerator g = new TorchGenerator(7);
        try {
            try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32, 45).size(32, 32).cfgType(CfgType.SELF)
                    .seed(11).build()) {
                s.prepare("a changing stream", "blurry", 50, 1.2, 0.9);
                if (start != null) start.await(30, TimeUnit.SECONDS);
                for (int i = 0; i < 6; i++) {
                    out.add(s.img2img(g.randn(1, 3, 32, 32)));
                    if (i == 0 && start != null) start.await(30, TimeUnit.SECONDS);
                }
            }
            try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32, 45).size(48, 32).cfgType(CfgType.SELF)
                    .seed(12).build()) {
                s.prepare("a changing stream", "blurry", 50, 1.2, 0.9);
                for (int i = 0; i < 6; i++) out.add(s.img2img(g.randn(1, 3, 32, 48)));
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        float[] all = new float[out.stream().mapToInt(FloatTensor::size).sum()];
        int off = 0;
        for (FloatTensor t : out) {
            System.arraycopy(t.data(), 0, all, off, t.size());
            off += t.size();
        }
        return all;
    }

    @Test
    void theObserverSeesEachModelCall() throws Exception {
        StandInUnet model = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
        List<int[]> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (BatchingUnet unet = new BatchingUnet(model, LONG)) {
            unet.observe((streams, rows, waitNanos, timedOut) -> seen.add(new int[] {streams, rows, timedOut ? 1 : 0}));
            Stream a = stream(unet, 2, 1, 4, 4);
            Stream b = stream(unet, 1, 2, 4, 4);
            call(unet, a);
            call(unet, b);
            together(unet, a, b);
            together(unet, b, a);
        }
        assertThat(seen).containsExactly(new int[] {1, 2, 0}, new int[] {1, 1, 0}, new int[] {2, 3, 0}, new int[] {2, 3, 0});
    }

    @Test
    void stackedConditioningIsFreedWhenAMemberLeavesAndOnClose() throws Exception {
        StandInUnet model = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
        BatchingUnet unet = new BatchingUnet(model, LONG);
        Stream a = stream(unet, 1, 1, 4, 4);
        Stream b = stream(unet, 1, 2, 4, 4);
        call(unet, a);
        call(unet, b);
        together(unet, a, b);
        together(unet, b, a);
        assertThat(model.prepared).as("a's, b's and the stacked one").isEqualTo(3);
        b.conditioning.close();
        assertThat(model.released).as("b's own and the stacked one").isEqualTo(2);
        a.conditioning.close();
        unet.close();
        assertThat(model.released).isEqualTo(3);
    }

    /** A stream alone through the batcher makes the frames of the unbatched stream, bit for bit. */
    @Test
    void aLoneStreamGivesTheUnbatchedFramesExactly() throws Exception {
        for (CfgType cfg : List.of(CfgType.SELF, CfgType.FULL, CfgType.INITIALIZE)) {
            StableDiffusionModels pm = StandInModels.create().models(false, 0.5f);
            StableDiffusionModels bm0 = StandInModels.create().models(false, 0.5f);
            try (BatchingUnet unet = new BatchingUnet(bm0.unet(), LONG)) {
                StableDiffusionModels bm = bm0.withUnet(unet);
                assertThat(frames(bm, cfg)).as("cfg %s", cfg).containsExactly(frames(pm, cfg));
                assertThat(unet.stats().modelCalls()).isEqualTo(unet.stats().streamCalls()).isPositive();
            }
            StableDiffusionModels cm0 = StandInModels.create().models(false, 0.5f);
            try (CrossSessionBatching all = CrossSessionBatching.of(cm0, LONG)) { // the VAE's calls gathered too
                assertThat(frames(all.models(), cfg)).as("cfg %s, VAE batched too", cfg).containsExactly(frames(pm, cfg));
                assertThat(all.vae().decodeStats().modelCalls()).isEqualTo(all.vae().decodeStats().streamCalls()).isPositive();
            }
        }
    }

    /** Two streams batched together each make the frames they make alone (the stand-in's rows are independent). */
    @Test
    void twoBatchedStreamsEachGiveTheirOwnFrames() throws Exception {
        StableDiffusionModels am = StandInModels.create().models(false, 0.5f);
        float[] expectedSelf = frames(am, CfgType.SELF);
        float[] expectedFull = frames(am, CfgType.FULL);
        try (BatchingUnet unet = new BatchingUnet(StandInModels.create().models(false, 0.5f).unet(), LONG)) {
            // each stream has stand-in text encoder and VAE of its own (they record calls, not thread-safe); the UNet is shared
            StableDiffusionModels forSelf = StandInModels.create().models(false, 0.5f).withUnet(unet);
            StableDiffusionModels forFull = StandInModels.create().models(false, 0.5f).withUnet(unet);
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2); // both prepared before either runs
            CompletableFuture<float[]> self = CompletableFuture.supplyAsync(() -> frames(forSelf, CfgType.SELF, start), pool);
            CompletableFuture<float[]> full = CompletableFuture.supplyAsync(() -> frames(forFull, CfgType.FULL, start), pool);
            assertThat(self.get(60, TimeUnit.SECONDS)).containsExactly(expectedSelf);
            assertThat(full.get(60, TimeUnit.SECONDS)).containsExactly(expectedFull);
            assertThat(unet.stats().modelCalls()).as("some calls were stacked").isLessThan(unet.stats().streamCalls());
        }
    }

    /** The frames of a two-step img2img stream, one after the other in one array. */
    private static float[] frames(StableDiffusionModels models, CfgType cfg) {
        return frames(models, cfg, null);
    }

    /**
     * {@link #frames(StableDiffusionModels, CfgType)}, waiting at {@code start} (if any) after
     * preparing and again after the first frame.
     */
    private static float[] frames(StableDiffusionModels models, CfgType cfg, java.util.concurrent.CyclicBarrier start) {
        List<FloatTensor> out = new ArrayList<>();
        TorchGenerator g = new TorchGenerator(5);
        try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32, 45).size(32, 32).cfgType(cfg)
                .seed(cfg.ordinal() + 3).build()) {
            s.prepare("a " + cfg, "blurry", 50, 1.4, 0.9);
            if (start != null) start.await(30, TimeUnit.SECONDS);
            for (int i = 0; i < 12; i++) {
                out.add(s.img2img(g.randn(1, 3, 32, 32)));
                // after its first frame each stream is present in the gathers: from the second on they wait for each
                // other (without this, on a busy machine one thread could run all its frames before the other's first)
                if (i == 0 && start != null) start.await(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return FloatTensor.concatRows(out.toArray(FloatTensor[]::new)).data();
    }
}
