package io.streamdiffusion4j.random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Seeding and restarting of the random sources, and the edges of replayed draws. */
class RandomStreamsTest {

    @Test
    void aNegativeSeedIsTheUnsignedSeedTorchKeeps() {
        // seeds are held as torch's 64 bits (TorchSeed): -2 stands for 2^64 - 2, and Python's random
        // is seeded with that whole value. CPython 3: random.seed(2**64 - 2); random.random() twice
        PythonRandom negative = new PythonRandom(-2);
        assertThat(negative.random()).isEqualTo(0.13119521545503066);
        assertThat(negative.random()).isEqualTo(0.30408191479048297);
        assertThat(new PythonRandom(2).random()).isEqualTo(0.9560342718892494); // random.seed(2), not the same
    }

    @Test
    void pythonRandomReseedRestartsTheSequence() {
        PythonRandom r = new PythonRandom(2);
        double first = r.random();
        for (int i = 0; i < 700; i++) r.random(); // past one refill of the 624-word state
        r.seed(2);
        assertThat(r.random()).isEqualTo(first).isEqualTo(0.9560342718892494);
    }

    @Test
    void pythonRandomSeedsAbove32BitsUseBothWords() {
        // 2^32 is the key [0, 1]: neither seed 0 nor seed 1
        double big = new PythonRandom(1L << 32).random();
        assertThat(big).isNotEqualTo(new PythonRandom(0).random()).isNotEqualTo(new PythonRandom(1).random());
        assertThat(new PythonRandom((1L << 32) + 5).random()).isNotEqualTo(new PythonRandom(5).random());
    }

    @Test
    void pythonRandomDrawsLieInTheUnitInterval() {
        PythonRandom r = new PythonRandom(12345);
        double min = 1;
        double max = 0;
        for (int i = 0; i < 5000; i++) {
            double u = r.nextUniform();
            assertThat(u).isGreaterThanOrEqualTo(0).isLessThan(1);
            min = Math.min(min, u);
            max = Math.max(max, u);
        }
        assertThat(min).as("53 random bits spread over [0, 1)").isLessThan(0.01);
        assertThat(max).isGreaterThan(0.99);
    }

    @Test
    void torchManualSeedForgetsTheCachedSecondNormal() {
        // fewer than 16 values draw pairs and cache the second one; a re-seed must drop it
        TorchGenerator g = new TorchGenerator(3);
        float first = g.randn(1).data()[0];
        g.manualSeed(3);
        assertThat(g.randn(1).data()[0]).isEqualTo(first);
        TorchGenerator h = new TorchGenerator(3);
        float[] two = h.randn(2).data();
        TorchGenerator k = new TorchGenerator(3);
        assertThat(new float[] {k.randn(1).data()[0], k.randn(1).data()[0]})
                .as("the cached second value is the next draw").containsExactly(two);
    }

    @Test
    void fillNormalIsRandnIntoAGivenArray() {
        for (int size : new int[] {1, 15, 16, 17, 40, 64}) {
            float[] into = new float[size];
            new TorchGenerator(9).fillNormal(into);
            assertThat(into).as("size %d", size).containsExactly(new TorchGenerator(9).randn(size).data());
        }
    }

    @Test
    void torchSeedsAboveThirtyTwoBitsKeepTheLowWord() {
        float[] low = new TorchGenerator(7).randn(20).data();
        assertThat(new TorchGenerator((1L << 32) + 7).randn(20).data()).containsExactly(low);
    }

    @Test
    void torchNormalsLookNormal() {
        float[] v = new TorchGenerator(1).randn(20000).data();
        double sum = 0;
        double sq = 0;
        for (float x : v) {
            sum += x;
            sq += x * x;
        }
        double mean = sum / v.length;
        double var = sq / v.length - mean * mean;
        assertThat(mean).isBetween(-0.05, 0.05);
        assertThat(var).isBetween(0.95, 1.05);
    }

    @Test
    void replayedDrawsAcceptTheEndsOfTheUnitIntervalAndCountWhatWasUsed(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("draws.txt");
        Files.writeString(f, "0\n1\n  0.5  \n");
        ReplayedUniforms r = ReplayedUniforms.fromFile(f);
        assertThat(r.used()).isZero();
        assertThat(r.nextUniform()).isZero();
        assertThat(r.nextUniform()).isEqualTo(1.0);
        assertThat(r.used()).isEqualTo(2);
        assertThat(r.nextUniform()).isEqualTo(0.5);
        assertThatThrownBy(r::nextUniform).hasMessageContaining(f.toString()).hasMessageContaining("ran out after 3 draws");
        Files.writeString(f, "NaN\n");
        assertThatThrownBy(() -> ReplayedUniforms.fromFile(f)).hasMessageContaining("line 1");
        Files.writeString(f, "0.5\n-0.1\n");
        assertThatThrownBy(() -> ReplayedUniforms.fromFile(f)).hasMessageContaining("line 2").hasMessageContaining("-0.1");
    }

    @Test
    void replayedDrawsKeepTheirOwnCopy() {
        double[] draws = {0.25, 0.75};
        ReplayedUniforms r = new ReplayedUniforms(draws, "test");
        draws[0] = 0.9;
        assertThat(r.nextUniform()).isEqualTo(0.25);
    }
}
