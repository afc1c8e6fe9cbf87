package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The blending arithmetic against numbers computed independently with PyTorch 1.13 (float64) by a
 * harness kept outside the repository: {@code A}, {@code B}, {@code C} below as (1, 2, 4) tensors;
 * linear = {@code sum w_i X_i} with normalized weights; slerp per token vector from the normalized
 * directions, {@code om = acos(clamp(an.bn))}, {@code sin((1-t) om)/sin(om) a + sin(t om)/sin(om) b};
 * three prompts = slerp(slerp(A, B, 3/4), C, 4/8) for weights 1, 3, 4; noise =
 * {@code (w1 n1 + w2 n2) / sqrt(w1^2 + w2^2)} with normalized weights 2, 1. The same harness found
 * the standard deviation of the noise formula on 10^6 pairs of torch draws at 0.9996.
 */
class BlendingTest {
    private static final FloatTensor A = new FloatTensor(new float[] {0.5f, -1.0f, 2.0f, 0.25f, 1.5f, 0.0f, -0.5f, 1.0f}, 1, 2, 4);
    private static final FloatTensor B = new FloatTensor(new float[] {-0.75f, 0.5f, 1.0f, 2.0f, 0.25f, -1.25f, 0.5f, -2.0f}, 1, 2, 4);
    private static final FloatTensor C = new FloatTensor(new float[] {1.0f, 1.0f, -1.0f, 0.5f, -0.5f, 2.0f, 1.5f, 0.0f}, 1, 2, 4);

    @Test
    void linearIsTheWeightedSumWithNormalizedWeights() {
        FloatTensor r = Blending.embeddings(List.of(A, B, C), new double[] {1, 3, 4}, Interpolation.LINEAR);
        assertClose("linear of three", r.data(), new float[] {0.28125000f, 0.56250000f, 0.12500000f, 1.03125000f,
                0.03125000f, 0.53125000f, 0.87500000f, -0.62500000f}, 1e-6);
        assertThat(r.shape()).containsExactly(1, 2, 4);
    }

    @Test
    void slerpOfTwoFollowsTheGreatCirclePerTokenVector() {
        FloatTensor r = Blending.embeddings(List.of(A, B), new double[] {0.7, 0.3}, Interpolation.SLERP);
        assertClose("slerp t=0.3", r.data(), new float[] {0.11437997f, -0.61877966f, 2.01759876f, 0.98348681f,
                1.77771894f, -0.77418043f, -0.23128878f, -0.15676679f}, 1e-5);
    }

    @Test
    void slerpOfThreeIsPairwiseInOrderWithCumulativeWeights() {
        FloatTensor r = Blending.embeddings(List.of(A, B, C), new double[] {1, 3, 4}, Interpolation.SLERP);
        assertClose("slerp of three", r.data(), new float[] {0.42165331f, 0.88598147f, 0.41004731f, 1.84507862f,
                0.54172102f, 0.60738293f, 1.71851217f, -1.60308401f}, 1e-5);
    }

    @Test
    void slerpOfParallelVectorsFallsBackToLinear() {
        FloatTensor twice = new FloatTensor(A.data().clone(), 1, 2, 4);
        for (int i = 0; i < twice.size(); i++) twice.data()[i] *= 2;
        FloatTensor r = Blending.embeddings(List.of(A, twice), new double[] {1, 1}, Interpolation.SLERP);
        float[] expected = A.data().clone();
        for (int i = 0; i < expected.length; i++) expected[i] *= 1.5f;
        assertClose("parallel", r.data(), expected, 1e-6);
    }

    @Test
    void aTransitionStepIsTheInterpolationAtThatFraction() {
        assertClose("between linear 0.25", Blending.between(A, B, 0.25, Interpolation.LINEAR).data(), new float[] {
                0.18750000f, -0.62500000f, 1.75000000f, 0.68750000f, 1.18750000f, -0.31250000f, -0.25000000f, 0.25000000f}, 1e-6);
        assertClose("between slerp 0.3", Blending.between(A, B, 0.3, Interpolation.SLERP).data(),
                Blending.embeddings(List.of(A, B), new double[] {0.7, 0.3}, Interpolation.SLERP).data(), 1e-6);
    }

    @Test
    void blendedNoiseKeepsUnitVarianceByTheRootOfTheSquaredWeights() {
        FloatTensor n1 = new FloatTensor(new float[] {0.3f, -1.2f, 0.8f, 2.0f}, 1, 4);
        FloatTensor n2 = new FloatTensor(new float[] {-0.6f, 0.1f, 1.1f, -0.4f}, 1, 4);
        assertClose("noise", Blending.noise(List.of(n1, n2), new double[] {2, 1}).data(),
                new float[] {0.00000000f, -1.02859131f, 1.20747673f, 1.60996894f}, 1e-6);
    }

    @Test
    void oneEntryIsReturnedAsItIs() {
        assertThat(Blending.embeddings(List.of(A), new double[] {5}, Interpolation.SLERP)).isSameAs(A);
        assertThat(Blending.noise(List.of(A), new double[] {0.1})).isSameAs(A);
    }

    @Test
    void transitionStepsReachTheTargetExactlyAtTheLastFrame() {
        PromptTransition t = new PromptTransition(A, B, 4, Interpolation.LINEAR);
        assertThat(t.current()).isSameAs(A);
        for (int k = 1; k <= 3; k++) {
            assertClose("frame " + k, t.advance().data(), Blending.between(A, B, k / 4.0, Interpolation.LINEAR).data(), 0);
            assertThat(t.done()).isFalse();
        }
        assertThat(t.advance()).isSameAs(B);
        assertThat(t.done()).isTrue();
    }

    @Test
    void blendsMergeRepeatsAndDropZeroWeights() {
        PromptBlend p = new PromptBlend(List.of(new WeightedPrompt("a", 1), new WeightedPrompt("b", 0), new WeightedPrompt("a", 2)),
                Interpolation.LINEAR);
        assertThat(p.effective()).containsExactly(new WeightedPrompt("a", 3));
        assertThat(p.isSingle()).isTrue();
        SeedBlend s = new SeedBlend(List.of(new WeightedSeed(0, 0), new WeightedSeed(7, 1), new WeightedSeed(3, 1)));
        assertThat(s.primarySeed()).isEqualTo(7);
        assertThat(s.effective()).hasSize(2);
    }

    @Test
    void badBlendsAreRefusedWithTheFieldNamed() {
        assertThatThrownBy(() -> new WeightedPrompt("a", -1)).hasMessageContaining("prompt_list weights must be finite and >= 0");
        assertThatThrownBy(() -> new WeightedSeed(1, Double.NaN)).hasMessageContaining("seed_list weights");
        assertThatThrownBy(() -> new WeightedSeed(1, Double.POSITIVE_INFINITY)).hasMessageContaining("seed_list weights");
        assertThatThrownBy(() -> new PromptBlend(List.of(new WeightedPrompt("a", 0)), Interpolation.LINEAR))
                .hasMessageContaining("prompt_list weights must not all be 0");
        assertThatThrownBy(() -> new SeedBlend(List.of())).hasMessageContaining("seed_list must have 1 to 8 entries, found 0");
        assertThatThrownBy(() -> new SeedBlend(Collections.nCopies(9, new WeightedSeed(1, 1))))
                .hasMessageContaining("seed_list must have 1 to 8 entries, found 9");
        assertThatThrownBy(() -> Interpolation.parse("cubic")).hasMessageContaining("\"linear\" or \"slerp\"");
        assertThatThrownBy(() -> LiveSettingsLimits.checkTransitionFrames(1.5)).hasMessageContaining("prompt_transition_frames");
        assertThatThrownBy(() -> LiveSettingsLimits.checkTransitionFrames(1001)).hasMessageContaining("[0, 1000]");
    }
}
