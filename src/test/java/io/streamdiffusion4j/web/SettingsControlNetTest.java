package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.testing.StandInControlNet;
import io.streamdiffusion4j.testing.StandInModels;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code controlnet_scales} setting of a web client: merged, applied to the session's stream, refused when bad. */
class SettingsControlNetTest {
    private static final StreamSettings START = new StreamSettings("a fox", "", List.of(32, 45), 1.2, 1.0, 2,
            SimilarityFilterSettings.DISABLED).withControlnetScales(List.of(0.8, 0.5));
    private final SettingsParser parser = new SettingsParser(50, StrengthPresets.forSteps(50), 512, 512, true);

    private static JsonNode json(String s) throws Exception {
        return Messages.JSON.readTree(s);
    }

    @Test
    void scalesAreMergedShownAndAppliedLive() throws Exception {
        StreamSettings s = parser.merge(START, json("{\"controlnet_scales\": [0, 1.5]}"));
        assertThat(s.controlnetScales()).containsExactly(0.0, 1.5);
        assertThat(s.toJson(parser.presets()).get("controlnet_scales").toString()).isEqualTo("[0.0,1.5]");
        assertThat(parser.merge(START, json("{\"prompt\": \"x\"}")).controlnetScales()).containsExactly(0.8, 0.5);
        assertThat(parser.limits().get("controlnet_scale")).isEqualTo(List.of(0.0, 2.0));
        StandInModels sm = StandInModels.create();
        sm.unet.acceptsResiduals = true;
        try (StreamDiffusion stream = StreamDiffusion.builder().models(sm.models(false, 0.5f)).size(32, 32)
                .controlNet(new StandInControlNet(1f), 0.8).controlNet(new StandInControlNet(2f), 0.5).build()) {
            stream.prepare("a fox", "", 50, 1.2, 1.0);
            s.applyChanges(START, stream, true);
            assertThat(stream.controlNetScales()).containsExactly(0.0, 1.5);
        }
        assertThat(START.toJson(parser.presets()).has("controlnet_scales")).isTrue();
        StreamSettings plain = new StreamSettings("a fox", "", List.of(32, 45), 1.2, 1.0, 2, SimilarityFilterSettings.DISABLED);
        assertThat(plain.toJson(parser.presets()).has("controlnet_scales")).as("a session without ControlNet reads as before").isFalse();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"controlnet_scales\": [1]}|controlnet_scales must be an array of 2 number(s), one per ControlNet, found [1]",
            "{\"controlnet_scales\": 1}|controlnet_scales must be an array of 2",
            "{\"controlnet_scales\": [1, 3]}|controlnet_scales[1] must be a number in [0, 2], found 3",
            "{\"controlnet_scales\": [1, \"1\"]}|controlnet_scales[1] must be a number in [0, 2], found \"1\"",
            "{\"controlnet_scales\": [-0.5, 1]}|controlnet_scales[0] must be a number in [0, 2], found -0.5"})
    void badScalesAreRefusedWithTheReason(String message, String error) {
        assertThatThrownBy(() -> parser.merge(START, json(message))).isInstanceOf(ProtocolException.class).hasMessageContaining(error);
    }

    @Test
    void aServerWithoutControlNetRefusesScales() {
        StreamSettings plain = new StreamSettings("a fox", "", List.of(32, 45), 1.2, 1.0, 2, SimilarityFilterSettings.DISABLED);
        assertThatThrownBy(() -> parser.merge(plain, json("{\"controlnet_scales\": [1]}")))
                .hasMessageContaining("this server runs no ControlNet");
    }
}
