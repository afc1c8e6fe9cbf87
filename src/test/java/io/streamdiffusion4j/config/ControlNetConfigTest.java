package io.streamdiffusion4j.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code DIR|ID[:SCALE]} syntax ({@link ControlNetSpec}) and the run configuration's ControlNet keys. */
class ControlNetConfigTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "models/cn|models/cn|1.0",
            "models/cn:0.8|models/cn|0.8",
            "lllyasviel/control_v11p_sd15_canny:0.5|lllyasviel/control_v11p_sd15_canny|0.5",
            "models/a:b|models/a:b|1.0",
            "takes/cut:2:1|takes/cut:2|1.0",
            "  cn : .5 |cn|0.5",
            "cn:0|cn|0.0",
            "cn:2|cn|2.0"})
    void theScaleFollowsTheLastColonWhenItIsANumber(String entry, String source, double scale) {
        ControlNetSpec s = ControlNetSpec.parse(entry);
        assertThat(s.source()).isEqualTo(source);
        assertThat(s.scale()).isEqualTo(scale);
        assertThat(ControlNetSpec.parse(s.text())).isEqualTo(s);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "cn:2.5|controlnet scale must be in [0, 2], found 2.5",
            "cn:-1|controlnet scale must be in [0, 2], found -1.0",
            "cn:|ends with ':' but gives no scale",
            "' '|empty ControlNet entry"})
    void badEntriesAreRefusedWithTheReason(String entry, String message) {
        assertThatThrownBy(() -> ControlNetSpec.parse(entry)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    @Test
    void readsObjectsAndStringsWithDefaults() throws Exception {
        RunConfig c = RunConfig.parse("{\"controlnets\": [{\"path\": \"models/cn\", \"scale\": 0.8}, \"org/name:0.5\","
                + " {\"path\": \"x\"}], \"control_preprocessor\": \"none\"}", "test");
        assertThat(c.controlNets()).containsExactly(new ControlNetSpec("models/cn", 0.8), new ControlNetSpec("org/name", 0.5),
                new ControlNetSpec("x", 1.0));
        assertThat(c.controlPreprocessor()).isEqualTo("none");
        RunConfig none = RunConfig.parse("{}", "test");
        assertThat(none.controlNets()).isEmpty();
        assertThat(none.controlPreprocessor()).isEqualTo("canny");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"controlnets\": {\"path\": \"x\"}}|test: controlnets must be a list",
            "{\"controlnets\": [3]}|test: controlnets[0] must be an object",
            "{\"controlnets\": [{\"path\": \"x\", \"weight\": 1}]}|unknown key 'controlnets[0].weight'",
            "{\"controlnets\": [{\"scale\": 1}]}|controlnets[0].path must be a folder, ONNX file or Hub id, found nothing",
            "{\"controlnets\": [{\"path\": \"x\", \"scale\": \"big\"}]}|controlnets[0].scale must be a number",
            "{\"controlnets\": [{\"path\": \"x\", \"scale\": 5}]}|controlnets[0]: ControlNet 'x': controlnet scale must be in [0, 2]",
            "{\"controlnets\": [\"x:9\"]}|controlnets[0]: ControlNet 'x': controlnet scale",
            "{\"controlnets\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}|controlnets may hold at most 4 entries, found 5",
            "{\"controlnets\": [\"a\"], \"mode\": \"txt2img\"}|controlnets work in img2img only",
            "{\"control_preprocessor\": \"sobel\"}|control_preprocessor must be one of [canny, depth, none], found \"sobel\"",
            "{\"control_preprocessor\": 1}|control_preprocessor must be a string"})
    void badControlNetKeysAreErrorsNamingTheKey(String json, String message) {
        assertThatThrownBy(() -> RunConfig.parse(json, "test")).isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }
}
