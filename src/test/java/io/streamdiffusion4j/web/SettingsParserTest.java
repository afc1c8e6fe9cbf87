package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Settings messages: partial updates, presets, and the lenient reading of the original demo's parameters. */
class SettingsParserTest {
    private static final StreamSettings START = new StreamSettings("a fox", "", List.of(32, 45), 1.2, 1.0, 2,
            SimilarityFilterSettings.DISABLED);
    private final SettingsParser img2img = new SettingsParser(50, StrengthPresets.forSteps(50), 512, 512, true);

    private static JsonNode json(String s) throws Exception {
        return Messages.JSON.readTree(s);
    }

    @Test
    void absentKeysKeepTheirValues() throws Exception {
        StreamSettings s = img2img.merge(START, json("{\"type\": \"settings\", \"prompt\": \"an owl\"}"));
        assertThat(s).isEqualTo(new StreamSettings("an owl", "", List.of(32, 45), 1.2, 1.0, 2, SimilarityFilterSettings.DISABLED));
        assertThat(img2img.merge(START, json("{}"))).isEqualTo(START);
    }

    @Test
    void theIpAdapterScaleByEitherNameWithinItsBoundsAndOnlyWithAnAdapter() throws Exception {
        StreamSettings withAdapter = START.withIpAdapterScale(0.8);
        assertThat(START.hasIpAdapter()).isFalse();
        assertThat(img2img.merge(withAdapter, json("{\"prompt\": \"an owl\"}")).ipAdapterScale()).as("kept").isEqualTo(0.8);
        assertThat(img2img.merge(withAdapter, json("{\"ip_adapter_scale\": 0}")).ipAdapterScale()).isEqualTo(0.0);
        assertThat(img2img.merge(withAdapter, json("{\"ip_scale\": 10}")).ipAdapterScale()).isEqualTo(10.0);
        assertThat(img2img.merge(withAdapter, json("{\"ip_scale\": 0.5}")).toJson(StrengthPresets.forSteps(50))
                .get("ip_adapter_scale").asDouble()).isEqualTo(0.5);
        assertThat(START.toJson(StrengthPresets.forSteps(50)).has("ip_adapter_scale")).as("no adapter, no key").isFalse();
        String[][] bad = {
                {"{\"ip_adapter_scale\": 10.5}", "ip_adapter_scale must be in [0, 10], found 10.5"},
                {"{\"ip_scale\": -1}", "ip_scale must be in [0, 10], found -1"},
                {"{\"ip_adapter_scale\": null}", "ip_adapter_scale must be a number, found null"},
                {"{\"ip_adapter_scale\": 1, \"ip_scale\": 1}", "give ip_adapter_scale or ip_scale, not both"},
        };
        for (String[] b : bad) {
            assertThatThrownBy(() -> img2img.merge(withAdapter, json(b[0]))).as(b[0]).isInstanceOf(ProtocolException.class)
                    .hasMessageContaining(b[1]);
        }
        assertThatThrownBy(() -> img2img.merge(START, json("{\"ip_adapter_scale\": 0.5}")))
                .hasMessageContaining("this server runs no IP-Adapter (serve --ip-adapter); ip_adapter_scale cannot be set");
    }

    @Test
    void strengthPresetsAndExplicitLists() throws Exception {
        assertThat(img2img.merge(START, json("{\"strength\": \"subtle\"}")).tIndexList()).containsExactly(38, 45);
        assertThat(img2img.merge(START, json("{\"strength\": \"wild\"}")).tIndexList()).containsExactly(12, 24, 36, 45);
        assertThat(img2img.merge(START, json("{\"t_index_list\": [10, 40]}")).tIndexList()).containsExactly(10, 40);
        StrengthPresets p = StrengthPresets.forSteps(50);
        assertThat(p.nameOf(List.of(32, 45))).isEqualTo("medium");
        assertThat(p.nameOf(List.of(10, 40))).isEqualTo("custom");
        assertThat(StrengthPresets.forSteps(4).get("wild")).as("scaled and kept distinct").containsExactly(1, 2, 3);
        assertThat(StrengthPresets.forSteps(4).get("medium")).containsExactly(3);
    }

    @Test
    void filterUpdatesKeepUnsetFields() throws Exception {
        StreamSettings s = img2img.merge(START, json("{\"similar_image_filter\": {\"enabled\": true}}"));
        assertThat(s.filter()).isEqualTo(new SimilarityFilterSettings(true, 0.98, 10));
        s = img2img.merge(s, json("{\"similar_image_filter\": {\"threshold\": 0.9, \"max_skip_frame\": 3}}"));
        assertThat(s.filter()).isEqualTo(new SimilarityFilterSettings(true, 0.9, 3));
    }

    @Test
    void theOriginalDemosParametersAreReadLeniently() throws Exception {
        StreamSettings s = img2img.merge(START, json("""
                {"prompt": "x", "width": 512, "height": 512, "seed": "7", "guidance_scale": "1.4", "model": "/etc", "negative_prompt": null}"""),
                true);
        assertThat(s).isEqualTo(new StreamSettings("x", "", List.of(32, 45), 1.4, 1.0, 7, SimilarityFilterSettings.DISABLED));
        assertThatThrownBy(() -> img2img.merge(START, json("{\"seed\": \"many\"}"), true)).hasMessageContaining("seed must be a whole number");
        assertThatThrownBy(() -> img2img.merge(START, json("{\"seed\": \"7\"}"))).as("strict: numbers only")
                .hasMessageContaining("seed must be a whole number");
    }

    @Test
    void txt2imgSessionsKeepTheServersSteps() {
        SettingsParser txt2img = new SettingsParser(50, StrengthPresets.forSteps(50), 512, 512, false);
        assertThatThrownBy(() -> txt2img.merge(START, json("{\"t_index_list\": [0]}"))).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("apply to img2img");
    }
}
