package io.streamdiffusion4j.batching;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInControlNet;
import io.streamdiffusion4j.testing.StandInModels;
import io.streamdiffusion4j.testing.StandInUnet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cross-session batching with ControlNets on the row-independent stand-ins: each stream runs its
 * own ControlNet, the batching UNet stacks the streams' residuals along the rows like their
 * samples and splits the prediction back, plain calls and calls with residuals are not stacked
 * together, and streams with ControlNets (one at scale 0, one at another scale and weight)
 * batched make exactly the frames they make unbatched. Calls are ordered by what the batcher
 * counts (pending calls, barriers), never by sleeping for a time.
 */
class BatchedControlNetTest {
    private static final Duration LONG = Duration.ofSeconds(20); // never reached when every stream calls
    private static final int SIZE = 32;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final StreamThreads threads = new StreamThreads();

    @AfterEach
    void stop() {
        pool.shutdownNow();
        threads.close();
    }

    /** A stream's call: its conditioning, sample and (null for a plain call) ControlNet residuals. */
    private record Stream(Unet.Conditioning conditioning, FloatTensor sample, long[] t, FloatTensor hidden,
                          ControlResiduals residuals) {}

    private static Stream stream(Unet unet, int rows, long seed, boolean withResiduals) {
        TorchGenerator g = new TorchGenerator(seed);
        FloatTensor sample = g.randn(rows, StandInModels.LATENT_CHANNELS, 4, 4);
        FloatTensor hidden = g.randn(rows, 77, StandInModels.HIDDEN);
        FloatTensor control = g.randn(rows, 3, 32, 32);
        long[] t = new long[rows];
        for (int r = 0; r < rows; r++) t[r] = 999 - 100 * r - seed;
        ControlResiduals res = withResiduals
                ? new StandInControlNet(1f + seed).residuals(sample, t, hidden, control, 0.5f + seed)
                : null;
        return new Stream(unet.prepare(sample.shape(), t, hidden), sample, t, hidden, res);
    }

    private static float[] call(Unet unet, Stream s) {
        float[] eps = new float[s.sample.size()];
        if (s.residuals == null) {
            unet.predictNoiseInto(s.sample, s.conditioning, eps);
        } else {
            unet.predictNoiseInto(s.sample, s.conditioning, s.residuals, eps);
        }
        return eps;
    }

    private Future<float[]> callAsync(Unet unet, Stream s) {
        return threads.submit(s, () -> call(unet, s));
    }

    /** {@code first} is submitted and waits (pending) before {@code second} is: gathered into one when they stack. */
    private float[][] together(BatchingUnet unet, Stream first, Stream second) throws Exception {
        return threads.together(unet, first, () -> call(unet, first), second, () -> call(unet, second));
    }

    /** What a residual-taking stand-in predicts for the stream's rows alone. */
    private static float[] alone(Stream s) {
        StandInUnet u = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
        u.acceptsResiduals = true;
        try (Unet.Conditioning c = u.prepare(s.sample.shape(), s.t, s.hidden)) {
            return call(u, new Stream(c, s.sample, s.t, s.hidden, s.residuals));
        }
    }

    private static StandInUnet residualModel() {
        StandInUnet model = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
        model.acceptsResiduals = true;
        return model;
    }

    @Test
    void residualsAreStackedInTheOrderOfTheSampleRowsAndTheOutputSplitBack() throws Exception {
        StandInUnet model = residualModel();
        try (BatchingUnet unet = new BatchingUnet(model, LONG)) {
            assertThat(unet.acceptsResiduals()).isTrue();
            Stream a = stream(unet, 2, 1, true);
            Stream b = stream(unet, 3, 2, true);
            assertThat(call(unet, a)).containsExactly(alone(a)); // first calls run alone
            assertThat(call(unet, b)).containsExactly(alone(b));

            float[][] both = together(unet, b, a); // b first in time; still stacked in participant order: a's rows first
            assertThat(both[0]).containsExactly(alone(b));
            assertThat(both[1]).containsExactly(alone(a));
            assertThat(model.residualCalls).as("one model call for both").hasSize(3);
            ControlResiduals stacked = model.residualCalls.getLast();
            List<FloatTensor> sa = a.residuals.all(), sb = b.residuals.all(), st = stacked.all();
            assertThat(st).hasSize(sa.size());
            for (int k = 0; k < st.size(); k++) {
                assertThat(st.get(k).rows()).isEqualTo(5);
                assertThat(st.get(k).data()).as("residual %d", k).containsExactly(FloatTensor.concatRows(sa.get(k), sb.get(k)).data());
            }
            assertThat(model.calls.getLast().sample().data()).containsExactly(FloatTensor.concatRows(a.sample, b.sample).data());
            assertThat(unet.stats().modelCalls()).isEqualTo(3);
            assertThat(unet.stats().timeouts()).isZero();
        }
    }

    @Test
    void plainCallsAndCallsWithResidualsAreNotStackedTogether() throws Exception {
        StandInUnet model = residualModel();
        try (BatchingUnet unet = new BatchingUnet(model, LONG)) {
            Stream plain = stream(unet, 1, 1, false);
            Stream plain2 = stream(unet, 1, 4, false);
            Stream controlled = stream(unet, 1, 2, true);
            Stream other = stream(unet, 1, 3, true);
            for (Stream s : List.of(plain, plain2, controlled, other)) call(unet, s); // all present now
            // the plain call waits (for plain2); the calls with residuals are not gathered into its batch:
            // they gather in a lane of their own and run together while it still waits
            Future<float[]> p1 = callAsync(unet, plain);
            long give = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (unet.pendingCalls() == 0 && System.nanoTime() < give) Thread.sleep(1);
            float[][] both = together(unet, controlled, other);
            assertThat(both[0]).containsExactly(alone(controlled));
            assertThat(both[1]).containsExactly(alone(other));
            assertThat(p1.isDone()).as("the plain call still waits for plain2").isFalse();
            ControlResiduals stacked = model.residualCalls.getLast();
            assertThat(stacked.mid().rows()).isEqualTo(2);
            assertThat(stacked.mid().data()).containsExactly(FloatTensor.concatRows(controlled.residuals.mid(), other.residuals.mid()).data());
            int residualCalls = model.residualCalls.size();

            Future<float[]> p2 = callAsync(unet, plain2);
            StandInUnet plainModel = new StandInUnet(StandInModels.LATENT_CHANNELS, StandInModels.HIDDEN);
            assertThat(p1.get(30, TimeUnit.SECONDS)).containsExactly(plainModel.predictNoise(plain.sample, plain.t, plain.hidden).data());
            assertThat(p2.get(30, TimeUnit.SECONDS)).containsExactly(plainModel.predictNoise(plain2.sample, plain2.t, plain2.hidden).data());
            assertThat(model.residualCalls).as("the plain calls were stacked without residuals").hasSize(residualCalls);
            assertThat(model.calls.getLast().sample().data()).containsExactly(FloatTensor.concatRows(plain.sample, plain2.sample).data());
            assertThat(unet.stats().modelCalls()).as("4 first calls, one with residuals, one plain").isEqualTo(6);
            assertThat(unet.stats().timeouts()).isZero();
        }
    }

    /**
     * Three streams with ControlNets (scale 1; scale 0, so none runs and the UNet gets zeros; scale
     * 0.6 of another ControlNet) on one batching UNet (and VAE) each make exactly their frames
     * unbatched, and each stream's ControlNet is called by that stream only.
     */
    @Test
    void threeStreamsWithControlNetsBatchedGiveTheirUnbatchedFrames() throws Exception {
        List<float[]> expected = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            StandInModels sm = StandInModels.create();
            sm.unet.acceptsResiduals = true;
            expected.add(frames(sm.models(true, 0.5f), i, new StandInControlNet(WEIGHTS[i]), null));
        }
        StandInModels shared = StandInModels.create();
        shared.unet.acceptsResiduals = true;
        try (CrossSessionBatching batching = CrossSessionBatching.of(shared.models(true, 0.5f), LONG)) {
            CyclicBarrier start = new CyclicBarrier(3);
            List<StandInControlNet> nets = new ArrayList<>();
            List<CompletableFuture<float[]>> runs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                StableDiffusionModels own = StandInModels.create().models(true, 0.5f); // own text encoder (not thread-safe)
                StableDiffusionModels m = new StableDiffusionModels(own.tokenizer(), own.textEncoder(), batching.unet(),
                        batching.models().vae(), own.schedulerConfig(), "stream " + i);
                StandInControlNet net = new StandInControlNet(WEIGHTS[i]);
                nets.add(net);
                int k = i;
                runs.add(CompletableFuture.supplyAsync(() -> frames(m, k, net, start), pool));
            }
            for (int i = 0; i < 3; i++) assertThat(runs.get(i).get(60, TimeUnit.SECONDS)).as("stream %d", i).containsExactly(expected.get(i));
            assertThat(nets.get(1).calls).as("scale 0: its ControlNet is not run").isEmpty();
            assertThat(nets.get(0).calls).allSatisfy(c -> assertThat(c.scale()).isEqualTo(1f));
            assertThat(nets.get(2).calls).isNotEmpty().allSatisfy(c -> assertThat(c.scale()).isEqualTo(0.6f));
            BatchStats st = batching.unet().stats();
            assertThat(st.modelCalls()).as("calls were stacked: %s", st).isLessThan(st.streamCalls());
            assertThat(shared.unet.residualCalls).as("every UNet call carried residuals").hasSize((int) st.modelCalls());
            assertThat(st.timeouts()).isZero();
        }
    }

    private static final float[] WEIGHTS = {1f, 1f, -0.7f};
    private static final double[] SCALES = {1.0, 0.0, 0.6};

    /** Six frames of stream {@code i} (its own prompt, guidance, seed, control images and ControlNet scale). */
    private static float[] frames(StableDiffusionModels models, int i, StandInControlNet net, CyclicBarrier start) {
        CfgType cfg = List.of(CfgType.SELF, CfgType.FULL, CfgType.INITIALIZE).get(i);
        List<FloatTensor> out = new ArrayList<>();
        TorchGenerator g = new TorchGenerator(20 + i);
        try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32, 45).size(SIZE, SIZE).cfgType(cfg)
                .seed(i + 3).controlNet(net, SCALES[i]).build()) {
            s.prepare("stream " + i, "blurry", 50, 1.2 + 0.2 * i, 0.9);
            if (start != null) start.await(30, TimeUnit.SECONDS);
            for (int f = 0; f < 6; f++) {
                FloatTensor in = g.randn(1, 3, SIZE, SIZE);
                for (int k = 0; k < in.size(); k++) in.data()[k] = Math.clamp(0.4f * in.data()[k], -1f, 1f);
                FloatTensor control = g.randn(1, 3, SIZE, SIZE);
                FloatTensor o = FloatTensor.zeros(1, 3, SIZE, SIZE);
                s.img2imgInto(in, control, o);
                out.add(o);
                // after its first frame each stream is present in the gathers (else one thread could run all its frames first)
                if (f == 0 && start != null) start.await(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return FloatTensor.concatRows(out.toArray(FloatTensor[]::new)).data();
    }
}
