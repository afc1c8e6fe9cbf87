package io.streamdiffusion4j.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.LiveSettingsLimits;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Live commands: each one parsed and applied to a prepared stream (the change lands where it
 * should), and each bad one refused at parse time with a message naming the setting, the bound
 * and the value, before anything reaches the stream.
 */
class ControlCommandTest {
    private static final int STEPS = 50;
    private static StableDiffusionModels tiny;

    @BeforeAll
    static void load() throws Exception {
        tiny = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults());
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static StreamDiffusion prepared() {
        try {
            StreamDiffusion s = StreamDiffusion.builder().models(tiny).size(64, 64).cfgType(CfgType.SELF).tIndexList(32, 45)
                    .similarImageFilter(0.98, 10).build();
            s.prepare("a fox", "blurry", STEPS, 1.2, 1.0);
            return s;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static ControlCommand parse(String line) {
        return ControlCommand.parse(line, STEPS);
    }

    private static void apply(StreamDiffusion s, String line) {
        ControlCommand c = parse(line);
        assertThat(c.kind()).isEqualTo(ControlCommand.Kind.CHANGE);
        c.change().accept(s);
    }

    @Test
    void everyChangeCommandReachesTheStream() {
        try (StreamDiffusion s = prepared()) {
            apply(s, "prompt a cat in the snow");
            assertThat(s.prompt()).isEqualTo("a cat in the snow");
            assertThat(s.negativePrompt()).isEqualTo("blurry");

            apply(s, "negative low quality, text");
            assertThat(s.negativePrompt()).isEqualTo("low quality, text");
            assertThat(s.prompt()).isEqualTo("a cat in the snow");
            apply(s, "negative_prompt grainy");
            assertThat(s.negativePrompt()).isEqualTo("grainy");

            apply(s, "guidance 1.4");
            assertThat(s.guidance().scale()).isEqualTo(1.4f);
            assertThat(s.guidance().delta()).isEqualTo(1.0f);
            apply(s, "guidance_scale 2.5 0.8");
            assertThat(s.guidance().scale()).isEqualTo(2.5f);
            assertThat(s.guidance().delta()).isEqualTo(0.8f);
            apply(s, "delta 0.3");
            assertThat(s.guidance().scale()).isEqualTo(2.5f);
            assertThat(s.guidance().delta()).isEqualTo(0.3f);

            apply(s, "t_index 22,32,45");
            assertThat(s.config().tIndexList()).containsExactly(22, 32, 45);
            apply(s, "t_index_list [10, 49]");
            assertThat(s.config().tIndexList()).containsExactly(10, 49);

            apply(s, "seed 7");
            assertThat(s.seed()).isEqualTo(7);
            apply(s, "seed 9007199254740993"); // beyond 2^53, as the web page's Rand button gives
            assertThat(s.seed()).isEqualTo(9007199254740993L);
            apply(s, "seed -1"); // torch.manual_seed(-1) is the seed 2^64 - 1
            assertThat(s.seed()).isEqualTo(-1L);
            apply(s, "seed 7");

            apply(s, "filter off");
            assertThat(s.config().similarFilter().enabled()).isFalse();
            assertThat(s.config().similarFilter().threshold()).isEqualTo(0.98);
            apply(s, "filter on");
            assertThat(s.config().similarFilter()).isEqualTo(new SimilarityFilterSettings(true, 0.98, 10));
            apply(s, "filter on 0.9");
            assertThat(s.config().similarFilter()).isEqualTo(new SimilarityFilterSettings(true, 0.9, 10));
            apply(s, "FILTER ON 0.95 3");
            assertThat(s.config().similarFilter()).isEqualTo(new SimilarityFilterSettings(true, 0.95, 3));
        }
    }

    @Test
    void statusQuitAndHelpAreNotChanges() {
        assertThat(parse("status").kind()).isEqualTo(ControlCommand.Kind.STATUS);
        for (String q : new String[] {"quit", "stop", "exit", "  QUIT  "}) assertThat(parse(q).kind()).isEqualTo(ControlCommand.Kind.QUIT);
        ControlCommand help = parse("help");
        assertThat(help.kind()).isEqualTo(ControlCommand.Kind.HELP);
        assertThat(help.description()).contains("t_index").contains("filter on");
        assertThat(parse("?").kind()).isEqualTo(ControlCommand.Kind.HELP);
    }

    /** The failures of issue 10 item 4 and their kin: refused when parsed, with the reason. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "t_index 999                | t_index_list entry 999 is outside [0, 49]",
            "t_index 50                 | t_index_list entry 50 is outside [0, 49]",
            "t_index -1,20              | t_index_list entry -1 is outside [0, 49]",
            "t_index 32,22              | t_index_list must increase",
            "t_index 32,32              | t_index_list must increase",
            "t_index 1,2,3,4,5          | t_index_list must have 1 to 4 entries, found 5",
            "t_index                    | t_index_list must have 1 to 4 entries, found 0",
            "t_index 3.5                | t_index expects integers",
            "t_index a,b                | t_index expects integers",
            "filter on 7                | similar_image_filter.threshold must be in [0, 1], found 7",
            "filter on -0.1             | similar_image_filter.threshold must be in [0, 1], found -0.1",
            "filter on 0.9 101          | similar_image_filter.max_skip_frame must be in [0, 100], found 101",
            "filter on 0.9 2.5          | similar_image_filter.max_skip_frame must be a whole number, found 2.5",
            "filter on 0.9 1 2          | filter on expects 1 or 2 number(s)",
            "filter maybe               | filter expects on or off",
            "filter off 0.5             | filter off takes no values",
            "filter                     | filter expects on or off",
            "guidance -5                | guidance_scale must be in [0, 10], found -5",
            "guidance 10.5              | guidance_scale must be in [0, 10], found 10.5",
            "guidance 1.2 6             | delta must be in [0, 5], found 6",
            "guidance NaN               | guidance expects finite numbers",
            "guidance Infinity          | guidance expects finite numbers",
            "guidance                   | guidance expects 1 or 2 number(s)",
            "guidance 1 2 3             | guidance expects 1 or 2 number(s)",
            "guidance high              | guidance expects numbers, found 'high'",
            "delta -0.1                 | delta must be in [0, 5], found -0.1",
            "delta 1 2                  | delta expects 1 number(s)",
            "seed 18446744073709551616  | seed must be an integer in",
            "seed lots                  | seed expects an integer",
            "launch rockets             | unknown command 'launch'",
    })
    void badCommandsAreRefusedWhenParsed(String line, String message) {
        assertThatThrownBy(() -> parse(line)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    @Test
    void limitsFollowTheStreamsNumberOfSteps() {
        assertThat(ControlCommand.parse("t_index 3", 4).kind()).isEqualTo(ControlCommand.Kind.CHANGE);
        assertThatThrownBy(() -> ControlCommand.parse("t_index 4", 4)).hasMessageContaining("outside [0, 3]");
    }

    @Test
    void promptsLongerThanTheSharedLimitAreRefused() {
        String ok = "x".repeat(LiveSettingsLimits.MAX_PROMPT_CHARS);
        assertThat(parse("prompt " + ok).description()).endsWith(ok);
        assertThatThrownBy(() -> parse("prompt " + ok + "y")).hasMessageContaining("prompt is 1001 characters; the limit is 1000");
        assertThatThrownBy(() -> parse("negative " + ok + "y"))
                .hasMessageContaining("negative_prompt is 1001 characters; the limit is 1000");
    }

    /** The bounds are the web's: the same value is refused by both front ends. */
    @Test
    void boundsAtTheEdgesAreAccepted() {
        for (String line : new String[] {"guidance 0", "guidance 10", "guidance 1 0", "guidance 1 5", "delta 5", "filter on 0",
                "filter on 1 0", "filter on 1 100", "t_index 0", "t_index 0,1,2,49"}) {
            assertThat(parse(line).kind()).as(line).isEqualTo(ControlCommand.Kind.CHANGE);
        }
    }
}
