package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.testing.StandInModels;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The blending keys of a web client's settings message: merged, applied to a stream, refused when bad (untrusted input). */
class SettingsBlendTest {
    private static final StreamSettings START = new StreamSettings("a fox", "", List.of(32, 45), 1.2, 1.0, 2,
            SimilarityFilterSettings.DISABLED);
    private final SettingsParser parser = new SettingsParser(50, StrengthPresets.forSteps(50), 512, 512, true);

    private static JsonNode json(String s) throws Exception {
        return Messages.JSON.readTree(s);
    }

    @Test
    void blendsAreMergedAndAPlainPromptOrSeedEndsThem() throws Exception {
        StreamSettings s = parser.merge(START, json("""
                {"prompt_list": [["a cat", 0.25], ["a dog", 0.75]], "interpolation": "slerp",
                 "seed_list": [[5, 1], [9, 1]], "prompt_transition_frames": 8}"""));
        assertThat(s.promptList()).containsExactly(new WeightedPrompt("a cat", 0.25), new WeightedPrompt("a dog", 0.75));
        assertThat(s.prompt()).isEqualTo("a cat");
        assertThat(s.interpolation()).isEqualTo(Interpolation.SLERP);
        assertThat(s.seedList()).containsExactly(new WeightedSeed(5, 1), new WeightedSeed(9, 1));
        assertThat(s.seed()).isEqualTo(5);
        assertThat(s.promptTransitionFrames()).isEqualTo(8);
        assertThat(s.toJson(parser.presets()).get("prompt_list").toString()).isEqualTo("[[\"a cat\",0.25],[\"a dog\",0.75]]");
        assertThat(parser.merge(s, json("{\"guidance_scale\": 1.0}")).promptList()).hasSize(2);
        StreamSettings plain = parser.merge(s, json("{\"prompt\": \"an owl\", \"seed\": 3}"));
        assertThat(plain.promptList()).isEmpty();
        assertThat(plain.seedList()).isEmpty();
        assertThat(plain.promptBlend().prompts()).containsExactly(new WeightedPrompt("an owl", 1));
        assertThat(START.toJson(parser.presets()).has("prompt_list")).as("a plain session reads as before").isFalse();
    }

    @Test
    void changesReachTheStreamThroughItsLiveUpdates() throws Exception {
        try (StreamDiffusion stream = StreamDiffusion.builder().models(StandInModels.create().models(true, 0.18215f)).size(32, 32)
                .cfgType(CfgType.SELF).seed(2).build()) {
            stream.prepare("a fox", "", 50, 1.2, 1.0);
            StreamSettings next = parser.merge(START, json("""
                    {"prompt_list": [["a cat", 1], ["a dog", 1]], "seed_list": [[5, 1], [9, 1]], "prompt_transition_frames": 3}"""));
            next.applyChanges(START, stream, true);
            assertThat(stream.promptBlend()).isEqualTo(next.promptBlend());
            assertThat(stream.seedBlend().seeds()).containsExactly(new WeightedSeed(5, 1), new WeightedSeed(9, 1));
            assertThat(stream.promptTransitionFrames()).isEqualTo(3);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            {"prompt": "a", "prompt_list": [["b", 1]]}          | give prompt or prompt_list, not both
            {"seed": 1, "seed_list": [[2, 1]]}                  | give seed or seed_list, not both
            {"prompt_list": []}                                 | prompt_list must be a list of 1 to 8 [value, weight] pairs
            {"prompt_list": [[1,1],[1,1],[1,1],[1,1],[1,1],[1,1],[1,1],[1,1],[1,1]]} | prompt_list must be a list of 1 to 8
            {"prompt_list": [["a", 1, 2]]}                      | prompt_list[0] must be a [value, weight] pair
            {"prompt_list": [[{"x": 1}, 1]]}                    | prompt_list[0] text must be a string
            {"prompt_list": [["a", -1]]}                        | prompt_list[0] weight must be a finite number >= 0, found -1
            {"prompt_list": [["a", "1"]]}                       | prompt_list[0] weight must be a finite number >= 0
            {"prompt_list": [["a", 0]]}                         | prompt_list weights must not all be 0
            {"seed_list": [[18446744073709551616, 1]]}          | seed_list[0]: seed must be in
            {"seed_list": [["7", 1]]}                           | seed_list[0]: seed must be a whole number
            {"interpolation": "cubic"}                          | interpolation must be "linear" or "slerp"
            {"interpolation": 3}                                | interpolation must be "linear" or "slerp", found 3
            {"prompt_transition_frames": 1001}                  | prompt_transition_frames must be in [0, 1000]
            {"prompt_transition_frames": 2.5}                   | prompt_transition_frames must be a whole number
            """)
    void badBlendSettingsAreRefusedWithTheKeyNamed(String message, String error) {
        assertThatThrownBy(() -> parser.merge(START, json(message))).isInstanceOf(ProtocolException.class)
                .hasMessageContaining(error);
    }

    @Test
    void aBlendTextOverTheLimitIsRefusedBeforeAnyWork() {
        String big = "x".repeat(1001);
        assertThatThrownBy(() -> parser.merge(START, json("{\"prompt_list\": [[\"" + big + "\", 1]]}")))
                .hasMessageContaining("prompt_list[0]: text is 1001 characters; the limit is 1000");
    }
}
