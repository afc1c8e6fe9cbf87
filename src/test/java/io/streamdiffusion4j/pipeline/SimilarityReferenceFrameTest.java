package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamdiffusion4j.random.ReplayedUniforms;
import io.streamdiffusion4j.tensor.FloatTensor;
import org.junit.jupiter.api.Test;

/** The similarity filter compares each frame with the last frame that went through, passed or forced. */
class SimilarityReferenceFrameTest {
    private static FloatTensor frame(float... v) {
        return new FloatTensor(v.clone(), 1, v.length);
    }

    @Test
    void aPassedFrameBecomesTheReference() {
        SimilarityFilter f = new SimilarityFilter(new SimilarityFilterSettings(true, 0.9, 10),
                new ReplayedUniforms(new double[] {0.5, 0.5}, "test"));
        f.shouldSkip(frame(1, 0));
        assertThat(f.shouldSkip(frame(0, 1))).as("orthogonal: passes").isFalse();
        SimilarityFilter.Decision passed = f.lastDecision();
        assertThat(passed.skip()).isFalse();
        assertThat(passed.forced()).isFalse();
        assertThat(passed.draw()).isEqualTo(0.5);
        assertThat(passed.cosine()).isCloseTo(0, within(1e-9));
        assertThat(f.shouldSkip(frame(0, 2))).as("same direction as the passed frame, not the first").isTrue();
    }

    @Test
    void aForcedFrameBecomesTheReference() {
        // threshold 0: the skip probability is the cosine itself
        SimilarityFilter f = new SimilarityFilter(new SimilarityFilterSettings(true, 0.0, 0),
                new ReplayedUniforms(new double[] {0.1, 0.1, 0.5}, "test"));
        f.shouldSkip(frame(1, 0));
        assertThat(f.shouldSkip(frame(0.6f, 0.8f))).as("cos 0.6 >= 0.1: skipped").isTrue();
        assertThat(f.shouldSkip(frame(0.6f, 0.8f))).as("max_skip_frame 0: forced through").isFalse();
        assertThat(f.lastDecision().forced()).isTrue();
        assertThat(f.lastDecision().skipProbability()).isCloseTo(0.6, within(1e-6));
        // against the forced frame (0.6, 0.8) the cosine is 0.8 >= 0.5: skipped; against (1, 0) it would be 0
        assertThat(f.shouldSkip(frame(0, 1))).isTrue();
        assertThat(f.lastDecision().cosine()).isCloseTo(0.8, within(1e-6));
    }

    @Test
    void cosineIsScaleFree() {
        assertThat(SimilarityFilter.cosineSimilarity(new float[] {3, 4}, new float[] {6, 8})).isCloseTo(1.0, within(1e-7));
        assertThat(SimilarityFilter.cosineSimilarity(new float[] {3, 4}, new float[] {4, -3})).isCloseTo(0.0, within(1e-7));
        assertThat(SimilarityFilter.cosineSimilarity(new float[] {2, 0}, new float[] {1, 1})).isCloseTo(Math.sqrt(0.5), within(1e-7));
        assertThat(SimilarityFilter.cosineSimilarity(new float[] {0, 0}, new float[] {1, 1})).isZero();
    }
}
