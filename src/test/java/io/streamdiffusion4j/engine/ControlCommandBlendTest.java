package io.streamdiffusion4j.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.testing.StandInModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** {@code run}'s blending commands: applied to a stream on stand-in models, and refused at parse time when bad. */
class ControlCommandBlendTest {
    private static void apply(StreamDiffusion s, String line) {
        ControlCommand c = ControlCommand.parse(line, 50);
        assertThat(c.kind()).isEqualTo(ControlCommand.Kind.CHANGE);
        c.change().accept(s);
    }

    @Test
    void blendCommandsReachTheStream() throws Exception {
        try (StreamDiffusion s = StreamDiffusion.builder().models(StandInModels.create().models(true, 0.18215f)).size(32, 32)
                .cfgType(CfgType.SELF).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            apply(s, "prompt_blend a cat:0.7 | style: watercolor");
            assertThat(s.promptBlend().prompts()).containsExactly(new WeightedPrompt("a cat", 0.7),
                    new WeightedPrompt("style: watercolor", 1));
            apply(s, "interpolation slerp");
            assertThat(s.promptBlend().interpolation()).isEqualTo(Interpolation.SLERP);
            assertThat(s.promptBlend().prompts()).hasSize(2);
            apply(s, "seed_blend 5:0.5, 9:0.5");
            assertThat(s.seedBlend().seeds()).containsExactly(new WeightedSeed(5, 0.5), new WeightedSeed(9, 0.5));
            assertThat(s.seed()).isEqualTo(5);
            apply(s, "transition 12");
            assertThat(s.promptTransitionFrames()).isEqualTo(12);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', textBlock = """
            prompt_blend a:1 | b:-1           ; the weight must be finite and >= 0, found -1.0
            prompt_blend a:0 | b:0            ; prompt_list weights must not all be 0
            prompt_blend                      ; found an empty one
            seed_blend x:1                    ; must be SEED[:WEIGHT]
            seed_blend 1:0                    ; seed_list weights must not all be 0
            interpolation cubic               ; interpolation must be "linear" or "slerp"
            transition 1001                   ; prompt_transition_frames must be a whole number in [0, 1000]
            transition -1                     ; prompt_transition_frames must be a whole number in [0, 1000]
            """)
    void badBlendCommandsAreRefusedAtParseTime(String line, String message) {
        assertThatThrownBy(() -> ControlCommand.parse(line, 50)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void aBlendTextLongerThanTheLiveLimitIsRefused() {
        assertThatThrownBy(() -> ControlCommand.parse("prompt_blend " + "x".repeat(1001) + ":1", 50))
                .hasMessageContaining("prompt_blend text is 1001 characters; the limit is 1000");
    }
}
