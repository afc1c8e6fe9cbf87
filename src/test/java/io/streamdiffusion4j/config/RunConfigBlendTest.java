package io.streamdiffusion4j.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.testing.StandInModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The blending keys of a run configuration, and the text form of blend entries (CLI and live commands). */
class RunConfigBlendTest {

    @Test
    void readsPromptAndSeedListsWithInterpolationAndTransition() throws Exception {
        RunConfig c = RunConfig.parse("""
                {"prompt_list": [["a cat", 0.7], ["a dog", 0.3]], "interpolation": "slerp",
                 "seed_list": [[7, 1], [9, 2.5]], "prompt_transition_frames": 12}""", "test");
        assertThat(c.promptBlend().prompts()).containsExactly(new WeightedPrompt("a cat", 0.7), new WeightedPrompt("a dog", 0.3));
        assertThat(c.promptBlend().interpolation()).isEqualTo(Interpolation.SLERP);
        assertThat(c.prompt()).isEqualTo("a cat");
        assertThat(c.seedBlend().seeds()).containsExactly(new WeightedSeed(7, 1), new WeightedSeed(9, 2.5));
        assertThat(c.seed()).isEqualTo(7);
        assertThat(c.streamConfig().seed()).isEqualTo(7);
        assertThat(c.promptTransitionFrames()).isEqualTo(12);
    }

    @Test
    void everyStreamMadeFromTheConfigurationGetsItsSeedBlendAndTransition() throws Exception {
        // the CLI and the bench build their streams through streamBuilder (the bench once ignored seed_list)
        RunConfig c = RunConfig.parse("""
                {"prompt": "a cat", "seed_list": [[7, 1], [9, 2.5]], "prompt_transition_frames": 5,
                 "width": 64, "height": 64}""", "test");
        StandInModels standIn = StandInModels.create();
        try (StreamDiffusion stream = c.streamBuilder().models(standIn.models(false, 1f))
                .config(c.streamConfig()).build()) {
            assertThat(stream.seedBlend()).isEqualTo(c.seedBlend());
            assertThat(stream.seed()).isEqualTo(7);
            assertThat(stream.promptTransitionFrames()).isEqualTo(5);
        }
    }

    @Test
    void withoutListsThePromptIsAOneEntryBlendAndThereIsNoSeedBlend() throws Exception {
        RunConfig c = RunConfig.parse("{\"prompt\": \"a fox\", \"seed\": 4}", "test");
        assertThat(c.promptBlend().prompts()).containsExactly(new WeightedPrompt("a fox", 1));
        assertThat(c.promptBlend().interpolation()).isEqualTo(Interpolation.LINEAR);
        assertThat(c.seedBlend()).isNull();
        assertThat(c.seed()).isEqualTo(4);
        assertThat(c.promptTransitionFrames()).isZero();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            {"prompt": "a", "prompt_list": [["b", 1]]}            | give prompt or prompt_list, not both
            {"seed": 1, "seed_list": [[2, 1]]}                    | give seed or seed_list, not both
            {"prompt_list": []}                                   | prompt_list must be a list of 1 to 8 [value, weight] pairs
            {"prompt_list": "a cat"}                              | prompt_list must be a list of 1 to 8
            {"prompt_list": [["a", 1], ["b"]]}                    | prompt_list[1] must be a [value, weight] pair
            {"prompt_list": [["a", 1], [3, 1]]}                   | prompt_list[1] text must be a string
            {"prompt_list": [["a", 1], ["b", -0.5]]}              | prompt_list[1] weight must be a finite number >= 0, found -0.5
            {"prompt_list": [["a", "x"]]}                         | prompt_list[0] weight must be a finite number >= 0
            {"prompt_list": [["a", 0], ["b", 0]]}                 | prompt_list weights must not all be 0
            {"prompt_list": [["a",1],["a",1],["a",1],["a",1],["a",1],["a",1],["a",1],["a",1],["a",1]]} | prompt_list must be a list of 1 to 8
            {"seed_list": [["7", 1]]}                             | seed_list[0]: seed must be an integer in [0, 4294967295]
            {"seed_list": [[-1, 1]]}                              | seed_list[0]: seed must be an integer in [0, 4294967295], found -1
            {"seed_list": [[1, 0]]}                               | seed_list weights must not all be 0
            {"interpolation": "cubic"}                            | interpolation must be "linear" or "slerp", found "cubic"
            {"prompt_transition_frames": 1001}                    | prompt_transition_frames must be in [0, 1000], found 1001
            {"prompt_transition_frames": 2.5}                     | prompt_transition_frames must be an integer
            """)
    void badBlendKeysAreErrorsThatNameTheKey(String json, String message) {
        assertThatThrownBy(() -> RunConfig.parse(json, "cfg.json")).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("cfg.json: ").hasMessageContaining(message);
    }

    @Test
    void theWeightOfAPromptEntryFollowsTheLastColonWhenThatIsANumber() {
        assertThat(BlendSyntax.prompt("a cat:0.7")).isEqualTo(new WeightedPrompt("a cat", 0.7));
        assertThat(BlendSyntax.prompt("style: watercolor")).isEqualTo(new WeightedPrompt("style: watercolor", 1));
        assertThat(BlendSyntax.prompt("aspect 16:9:1")).isEqualTo(new WeightedPrompt("aspect 16:9", 1));
        assertThat(BlendSyntax.prompt(" a dog : 2e-1 ")).isEqualTo(new WeightedPrompt("a dog", 0.2));
        assertThat(BlendSyntax.prompts("a cat:0.7 | a dog:0.3")).containsExactly(new WeightedPrompt("a cat", 0.7),
                new WeightedPrompt("a dog", 0.3));
        assertThat(BlendSyntax.seeds("5:0.5, 9")).containsExactly(new WeightedSeed(5, 0.5), new WeightedSeed(9, 1));
        assertThat(BlendSyntax.seed("18446744073709551615").seed()).isEqualTo(-1L); // torch's range, as the live seed
    }

    @Test
    void badEntriesAreRefusedWithTheEntryQuoted() {
        assertThatThrownBy(() -> BlendSyntax.prompt("a cat:-1")).hasMessageContaining("'a cat:-1'").hasMessageContaining(">= 0");
        assertThatThrownBy(() -> BlendSyntax.prompt("a cat:NaN")).hasMessageContaining("finite");
        assertThatThrownBy(() -> BlendSyntax.seed("5:x")).hasMessageContaining("'5:x' must be SEED[:WEIGHT]");
        assertThatThrownBy(() -> BlendSyntax.seed("five")).hasMessageContaining("the seed an integer");
        assertThatThrownBy(() -> BlendSyntax.prompts("a | | b")).hasMessageContaining("empty");
        assertThatThrownBy(() -> BlendSyntax.prompts("a|b|c|d|e|f|g|h|i")).hasMessageContaining("1 to 8 entries, found 9");
        assertThatThrownBy(() -> BlendSyntax.seeds("")).hasMessageContaining("found 0");
    }
}
