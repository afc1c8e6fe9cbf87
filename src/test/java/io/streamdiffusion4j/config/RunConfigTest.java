package io.streamdiffusion4j.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RunConfigTest {

    @Test
    void readsTheReferenceRunsConfig() throws Exception {
        RunConfig c = RunConfig.fromJson(RunConfig.readJson(Fixtures.publicRun().resolve("config.json")), "config.json");
        assertThat(c.prompt()).isEqualTo("a watercolor painting of a fox in a snowy forest");
        assertThat(c.tIndexList()).containsExactly(32, 45);
        assertThat(c.width()).isEqualTo(64);
        assertThat(c.cfgType()).isEqualTo(CfgType.SELF);
        assertThat(c.guidanceScale()).isEqualTo(1.2);
        assertThat(c.mode()).isEqualTo(Mode.IMG2IMG);
        assertThat(c.similarImageFilter().enabled()).isFalse();
        assertThat(c.seed()).isEqualTo(2);
        assertThat(c.streamConfig().batchSize()).isEqualTo(2);
    }

    @Test
    void missingKeysTakeTheOriginalsDefaults() throws Exception {
        RunConfig c = RunConfig.parse("{}", "test");
        assertThat(c.tIndexList()).containsExactly(32, 45);
        assertThat(c.width()).isEqualTo(512);
        assertThat(c.numInferenceSteps()).isEqualTo(50);
        assertThat(c.cfgType()).isEqualTo(CfgType.SELF);
        assertThat(c.similarImageFilter().threshold()).isEqualTo(0.98);
        assertThat(c.similarImageFilter().maxSkipFrame()).isEqualTo(10);
        assertThat(c.txt2imgMethod()).isEqualTo(RunConfig.Txt2ImgMethod.TXT2IMG);
        assertThat(c.numOutputs()).isEqualTo(1);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"promt\": \"x\"}|unknown key 'promt'",
            "{\"cfg_type\": \"half\"}|cfg_type",
            "{\"cfg_type\": 3}|cfg_type must be a string",
            "{\"width\": 100}|width must be a multiple of 8",
            "{\"height\": -8}|height must be in",
            "{\"t_index_list\": [32, 50]}|t_index_list entry 50",
            "{\"t_index_list\": [10], \"num_inference_steps\": 4}|t_index_list entry 10",
            "{\"t_index_list\": []}|t_index_list must be a non-empty list",
            "{\"t_index_list\": [1.5]}|t_index_list must hold integers",
            "{\"guidance_scale\": \"high\"}|guidance_scale must be a number",
            "{\"use_denoising_batch\": \"yes\"}|use_denoising_batch must be true or false",
            "{\"frame_buffer_size\": 0}|frame_buffer_size must be in",
            "{\"mode\": \"video\"}|mode",
            "{\"txt2img_method\": \"fast\"}|txt2img_method",
            "{\"num_outputs\": 0}|num_outputs must be in",
            "{\"seed\": -5}|seed must be in",
            "{\"similar_image_filter\": true}|similar_image_filter must be an object",
            "{\"similar_image_filter\": {\"threshhold\": 0.9}}|similar_image_filter.threshhold",
            "{\"similar_image_filter\": {\"threshold\": 1.5}}|similar_image_filter.threshold must be in",
            "{\"similar_image_filter\": {\"max_skip_frame\": -1}}|similar_image_filter.max_skip_frame"})
    void badKeysAndValuesAreErrorsThatNameTheKey(String json, String message) {
        assertThatThrownBy(() -> RunConfig.parse(json, "cfg.json"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cfg.json")
                .hasMessageContaining(message);
    }

    @Test
    void invalidJsonIsAnError() {
        assertThatThrownBy(() -> RunConfig.parse("{\"width\": 64,", "cfg.json")).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> RunConfig.parse("[1]", "cfg.json")).hasMessageContaining("expected a JSON object");
    }
}
