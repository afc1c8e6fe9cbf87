package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Prompt embeddings: encoded once per text while in the cache of the 64 most recently used, laid out per UNet row. */
class PromptEncoderTest {
    private final List<Integer> encoded = new ArrayList<>();

    private PromptEncoder encoder() {
        TextEncoder text = new TextEncoder() {
            @Override
            public FloatTensor encode(int[] ids) {
                encoded.add(ids[0]);
                return new FloatTensor(new float[] {ids[0], ids[0] + 0.5f}, 1, 1, 2);
            }

            @Override
            public int hiddenSize() {
                return 2;
            }

            @Override
            public void close() {}
        };
        return new PromptEncoder(t -> new int[] {t.hashCode()}, text);
    }

    @Test
    void aTextIsEncodedOnceAndNullIsTheEmptyPrompt() {
        PromptEncoder p = encoder();
        FloatTensor fox = p.encode("a fox");
        assertThat(p.encode("a fox")).isSameAs(fox);
        assertThat(p.encode(null)).isSameAs(p.encode(""));
        assertThat(p.encoderCalls()).isEqualTo(2);
        assertThat(encoded).containsExactly("a fox".hashCode(), 0);
        assertThat(p.tokenIds(null)).containsExactly(0);
    }

    @Test
    void theCacheKeepsTheSixtyFourMostRecentlyUsedTexts() {
        PromptEncoder p = encoder();
        for (int i = 0; i < 64; i++) p.encode("prompt " + i);
        p.encode("prompt 0"); // used again: now the most recent
        assertThat(p.encoderCalls()).as("64 texts fit").isEqualTo(64);
        p.encode("prompt 64"); // the 65th pushes out the least recently used, prompt 1
        p.encode("prompt 0");
        assertThat(p.encoderCalls()).as("prompt 0 stayed").isEqualTo(65);
        p.encode("prompt 1");
        assertThat(p.encoderCalls()).as("prompt 1 was evicted").isEqualTo(66);
    }

    @Test
    void conditioningHasTheNegativeRowsFirstOnlyWhenGuidanceUsesThem() {
        FloatTensor positive = new FloatTensor(new float[] {1, 2}, 1, 1, 2);
        FloatTensor negative = new FloatTensor(new float[] {-1, -2}, 1, 1, 2);
        FloatTensor full = PromptEncoder.conditioning(positive, negative, Guidance.of(CfgType.FULL, 1.5, 1), 3, 1);
        assertClose("full", full.data(), new float[] {-1, -2, -1, -2, -1, -2, 1, 2, 1, 2, 1, 2}, 0);
        FloatTensor init = PromptEncoder.conditioning(positive, negative, Guidance.of(CfgType.INITIALIZE, 1.5, 1), 4, 2);
        assertClose("initialize: one negative row per new frame", init.data(),
                new float[] {-1, -2, -1, -2, 1, 2, 1, 2, 1, 2, 1, 2}, 0);
        FloatTensor self = PromptEncoder.conditioning(positive, null, Guidance.of(CfgType.SELF, 1.5, 1), 2, 1);
        assertClose("self", self.data(), new float[] {1, 2, 1, 2}, 0);
        FloatTensor inactive = PromptEncoder.conditioning(positive, negative, Guidance.of(CfgType.FULL, 1.0, 1), 2, 1);
        assertClose("full without guidance", inactive.data(), new float[] {1, 2, 1, 2}, 0);
        assertThat(full.shape()).containsExactly(6, 1, 2);
    }
}
