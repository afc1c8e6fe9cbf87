package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Many streams calling shared models at once (a server's sessions) each get their own results. */
class ConcurrentCallsTest {

    private static FloatTensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return new FloatTensor(v, shape);
    }

    @Test
    void concurrentCallsGetTheirOwnResults() throws Exception {
        try (StableDiffusionModels models = OnnxModelLoader.load(io.streamdiffusion4j.testing.Fixtures.onnxModel(),
                io.streamdiffusion4j.testing.Fixtures.taesd(), OnnxModelLoader.Options.defaults())) {
            Unet raw = models.unet();
            Unet shared = raw;
            int c = raw.latentChannels();
            List<FloatTensor[]> inputs = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                FloatTensor x = random(k, 2, c, 8, 8);
                FloatTensor h = random(100 + k, 2, 77, raw.crossAttentionDim());
                inputs.add(new FloatTensor[] {x, h});
                expected.add(raw.predictNoise(x, new long[] {999 - 100 * k, 499}, h).data());
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> runs = new ArrayList<>();
                for (int k = 0; k < 4; k++) {
                    int kk = k;
                    runs.add(pool.submit(() -> {
                        float[] eps = new float[expected.get(kk).length];
                        for (int i = 0; i < 15; i++) {
                            shared.predictNoiseInto(inputs.get(kk)[0], new long[] {999 - 100 * kk, 499}, inputs.get(kk)[1], eps);
                            assertThat(eps).as("caller %d, call %d", kk, i).containsExactly(expected.get(kk));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : runs) f.get();
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
