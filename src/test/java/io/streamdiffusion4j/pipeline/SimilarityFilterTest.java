package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamdiffusion4j.random.ReplayedUniforms;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimilarityFilterTest {
    private static FloatTensor frame(float... v) {
        return new FloatTensor(v.clone(), 1, v.length);
    }

    @Test
    void firstFramePassesWithoutADraw() {
        SimilarityFilter f = new SimilarityFilter(new SimilarityFilterSettings(true, 0.9, 10),
                new ReplayedUniforms(new double[0], "none"));
        assertThat(f.shouldSkip(frame(1, 2, 3))).isFalse();
    }

    @Test
    void skipProbabilityIsTheScaledExcessSimilarity() {
        // cos = 0.96 with threshold 0.9 gives p = (0.96 - 0.9) / 0.1 = 0.6: skipped when the draw is <= 0.6
        float[] a = {1, 0};
        float[] b = {0.96f, (float) Math.sqrt(1 - 0.96 * 0.96)};
        SimilarityFilter f = new SimilarityFilter(new SimilarityFilterSettings(true, 0.9, 10),
                new ReplayedUniforms(new double[] {0.59, 0.61}, "test"));
        f.shouldSkip(frame(a));
        assertThat(f.shouldSkip(frame(b))).isTrue();
        assertThat(f.lastDecision().skipProbability()).isCloseTo(0.6, within(1e-6));
        assertThat(f.lastDecision().cosine()).isCloseTo(0.96, within(1e-6));
        assertThat(f.shouldSkip(frame(b))).as("draw 0.61 > p").isFalse();
    }

    @Test
    void framesBelowTheThresholdPass() {
        SimilarityFilter f = new SimilarityFilter(new SimilarityFilterSettings(true, 0.98, 10),
                new ReplayedUniforms(new double[] {0.001}, "test"));
        f.shouldSkip(frame(1, 0));
        assertThat(f.shouldSkip(frame(0, 1))).as("orthogonal: cos 0, p 0").isFalse();
        assertThat(f.lastDecision().skipProbability()).isZero();
    }

    @Test
    void atMostMaxSkipFramePlusOneSkipsInARowThenOneIsForcedThrough() {
        double[] draws = new double[20];
        java.util.Arrays.fill(draws, 0.5);
        SimilarityFilter f = new SimilarityFilter(new SimilarityFilterSettings(true, 0.9, 2),
                new ReplayedUniforms(draws, "test"));
        List<Boolean> skips = new ArrayList<>();
        for (int i = 0; i < 9; i++) skips.add(f.shouldSkip(frame(1, 2, 3)));
        // identical frames (cos = 1, p = 1): pass, then skip 3 times (count 1..3 > 2), forced pass, skip 3...
        assertThat(skips).containsExactly(false, true, true, true, false, true, true, true, false);
    }

    @Test
    void thresholdOneNeverSkips() {
        SimilarityFilter f = new SimilarityFilter(new SimilarityFilterSettings(true, 1.0, 2),
                new ReplayedUniforms(new double[] {0.1, 0.1}, "test"));
        f.shouldSkip(frame(1, 2));
        assertThat(f.shouldSkip(frame(1, 2))).isFalse();
    }
}
