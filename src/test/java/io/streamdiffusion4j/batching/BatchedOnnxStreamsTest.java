package io.streamdiffusion4j.batching;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.NativeTensors;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Batching on the test model with ONNX Runtime (the UNet pre-computing its conditioning, as
 * {@code serve} loads it): a stream alone through the batcher makes the unbatched frames bit for
 * bit, and two streams batched together (different prompts, guidance and rows) each make what
 * they make alone, with the UNet batched and with the VAE batched too.
 */
class BatchedOnnxStreamsTest {
    private static final Duration LONG = Duration.ofSeconds(20);

    private static StableDiffusionModels load() throws Exception {
        return OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults());
    }

    private static float[] frames(StableDiffusionModels models, CfgType cfg, String prompt, long seed, CyclicBarrier start) {
        List<FloatTensor> out = new ArrayList<>();
        TorchGenerator g = new TorchGenerator(seed);
        try (StreamDiffusion s = StreamDiffusion.builder().models(models).tIndexList(32, 45).size(64, 64).cfgType(cfg)
                .seed(seed).build()) {
            s.prepare(prompt, "blurry", 50, 1.5, 0.8);
            if (start != null) start.await(30, TimeUnit.SECONDS);
            for (int i = 0; i < 6; i++) {
                FloatTensor in = g.randn(1, 3, 64, 64);
                float[] d = in.data();
                for (int k = 0; k < d.length; k++) d[k] = Math.max(-1f, Math.min(1f, 0.5f * d[k]));
                out.add(s.img2img(in));
                // after its first frame each stream is present in the gathers (else on a busy machine one thread
                // could run all its frames before the other's first)
                if (i == 0 && start != null) start.await(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return FloatTensor.concatRows(out.toArray(FloatTensor[]::new)).data();
    }

    @Test
    void aLoneStreamAndTwoBatchedStreamsGiveTheirUnbatchedFrames() throws Exception {
        long before = NativeTensors.open();
        try (StableDiffusionModels models = load()) {
            float[] selfAlone = frames(models, CfgType.SELF, "a fox in the snow", 2, null);
            float[] fullAlone = frames(models, CfgType.FULL, "a lighthouse at night", 9, null);
            try (BatchingUnet unet = new BatchingUnet(models.unet(), LONG)) {
                StableDiffusionModels batched = models.withUnet(unet);
                assertThat(frames(batched, CfgType.SELF, "a fox in the snow", 2, null)).as("alone through the batcher")
                        .containsExactly(selfAlone);

                BatchStats start = unet.stats();
                CyclicBarrier barrier = new CyclicBarrier(2);
                var pool = java.util.concurrent.Executors.newFixedThreadPool(2); // the common pool may have one thread
                CompletableFuture<float[]> self = CompletableFuture.supplyAsync(
                        () -> frames(batched, CfgType.SELF, "a fox in the snow", 2, barrier), pool);
                CompletableFuture<float[]> full = CompletableFuture.supplyAsync(
                        () -> frames(batched, CfgType.FULL, "a lighthouse at night", 9, barrier), pool);
                float[] selfBatched = self.get(120, TimeUnit.SECONDS);
                float[] fullBatched = full.get(120, TimeUnit.SECONDS);
                pool.shutdown();
                BatchStats st = unet.stats().since(start);
                System.out.printf("batched: %s; max |diff| self %.3g, full %.3g%n", st, maxDiff(selfBatched, selfAlone),
                        maxDiff(fullBatched, fullAlone));
                assertThat(st.modelCalls()).as("calls were stacked").isLessThan(st.streamCalls());
                assertThat(selfBatched).containsExactly(selfAlone);
                assertThat(fullBatched).containsExactly(fullAlone);
            }
        }
        assertThat(NativeTensors.open()).as("native tensors freed").isEqualTo(before);
    }

    /**
     * The same with the VAE's encoder and decoder batched too (as {@code serve} and the bench run
     * them): ONNX Runtime's TAESD on stacked rows gives each stream exactly its own latents and
     * images, and no gather's window passes.
     */
    @Test
    void twoStreamsWithTheVaeBatchedTooGiveTheirUnbatchedFrames() throws Exception {
        long before = NativeTensors.open();
        try (StableDiffusionModels models = load()) {
            float[] selfAlone = frames(models, CfgType.SELF, "a fox in the snow", 2, null);
            float[] fullAlone = frames(models, CfgType.FULL, "a lighthouse at night", 9, null);
            try (CrossSessionBatching batching = CrossSessionBatching.of(models, LONG)) {
                StableDiffusionModels batched = batching.models();
                assertThat(frames(batched, CfgType.SELF, "a fox in the snow", 2, null)).as("alone through the batchers")
                        .containsExactly(selfAlone);
                CyclicBarrier barrier = new CyclicBarrier(2);
                var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
                CompletableFuture<float[]> self = CompletableFuture.supplyAsync(
                        () -> frames(batched, CfgType.SELF, "a fox in the snow", 2, barrier), pool);
                CompletableFuture<float[]> full = CompletableFuture.supplyAsync(
                        () -> frames(batched, CfgType.FULL, "a lighthouse at night", 9, barrier), pool);
                float[] selfBatched = self.get(120, TimeUnit.SECONDS);
                float[] fullBatched = full.get(120, TimeUnit.SECONDS);
                pool.shutdown();
                BatchStats enc = batching.vae().encodeStats();
                BatchStats dec = batching.vae().decodeStats();
                System.out.printf("UNet %s; encoder %s; decoder %s%n", batching.unet().stats(), enc, dec);
                assertThat(enc.modelCalls()).as("encodes were stacked").isLessThan(enc.streamCalls());
                assertThat(dec.modelCalls()).as("decodes were stacked").isLessThan(dec.streamCalls());
                assertThat(List.of(batching.unet().stats(), enc, dec)).allSatisfy(b -> assertThat(b.timeouts()).isZero());
                assertThat(selfBatched).containsExactly(selfAlone);
                assertThat(fullBatched).containsExactly(fullAlone);
            }
        }
        assertThat(NativeTensors.open()).as("native tensors freed").isEqualTo(before);
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
