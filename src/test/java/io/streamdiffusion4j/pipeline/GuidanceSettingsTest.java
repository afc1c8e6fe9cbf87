package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** When guidance acts, which modes add negative rows, and the names the configuration files use. */
class GuidanceSettingsTest {

    @Test
    void guidanceActsOnlyAboveScaleOneAndNotForNone() {
        assertThat(Guidance.of(CfgType.SELF, 1.0, 1).active()).isFalse();
        assertThat(Guidance.of(CfgType.SELF, 1.0001, 1).active()).isTrue();
        assertThat(Guidance.of(CfgType.SELF, 0.5, 1).active()).isFalse();
        assertThat(Guidance.of(CfgType.NONE, 3.0, 1).active()).isFalse();
        assertThat(Guidance.of(CfgType.NONE, 3.0, 1).scale()).as("none forces the scale to 1").isEqualTo(1f);
        assertThat(Guidance.of(CfgType.FULL, 3.0, 0.25)).isEqualTo(new Guidance(CfgType.FULL, 3f, 0.25f));
    }

    @Test
    void onlyFullAndInitializeWithActiveGuidanceHaveNegativeRows() {
        assertThat(Guidance.of(CfgType.FULL, 1.5, 1).hasNegativeRows()).isTrue();
        assertThat(Guidance.of(CfgType.INITIALIZE, 1.5, 1).hasNegativeRows()).isTrue();
        assertThat(Guidance.of(CfgType.SELF, 1.5, 1).hasNegativeRows()).isFalse();
        assertThat(Guidance.of(CfgType.NONE, 1.5, 1).hasNegativeRows()).isFalse();
        assertThat(Guidance.of(CfgType.FULL, 1.0, 1).hasNegativeRows()).isFalse();
        assertThat(Guidance.of(CfgType.INITIALIZE, 1.0, 1).hasNegativeRows()).isFalse();
    }

    @Test
    void nonFiniteGuidanceIsRejected() {
        assertThatThrownBy(() -> Guidance.of(CfgType.SELF, Double.NaN, 1)).hasMessageContaining("guidance_scale must be finite");
        assertThatThrownBy(() -> Guidance.of(CfgType.SELF, Double.POSITIVE_INFINITY, 1)).hasMessageContaining("guidance_scale");
        assertThatThrownBy(() -> Guidance.of(CfgType.SELF, 1.2, Double.NaN)).hasMessageContaining("delta must be finite");
    }

    @Test
    void onlyTheResidualModesKeepAStockNoise() {
        assertThat(CfgType.SELF.usesStockNoise()).isTrue();
        assertThat(CfgType.INITIALIZE.usesStockNoise()).isTrue();
        assertThat(CfgType.FULL.usesStockNoise()).isFalse();
        assertThat(CfgType.NONE.usesStockNoise()).isFalse();
    }

    @Test
    void modesAreNamedAsInTheOriginal() {
        for (CfgType t : CfgType.values()) {
            assertThat(CfgType.parse(t.key())).isEqualTo(t);
            assertThat(t.toString()).isEqualTo(t.key());
        }
        assertThat(CfgType.INITIALIZE.key()).isEqualTo("initialize");
        assertThatThrownBy(() -> CfgType.parse("Self")).hasMessageContaining("unknown cfg_type 'Self'")
                .hasMessageContaining("none, full, self, initialize");
        for (Mode m : Mode.values()) {
            assertThat(Mode.parse(m.key())).isEqualTo(m);
            assertThat(m.toString()).isEqualTo(m.key());
        }
        assertThat(Mode.TXT2IMG.key()).isEqualTo("txt2img");
        assertThatThrownBy(() -> Mode.parse("img2vid")).hasMessageContaining("unknown mode 'img2vid'");
    }

    @Test
    void streamConfigChecksItsShapeAndDerivesTheBatch() {
        StreamConfig c = StreamConfig.builder().tIndexList(10, 20, 30).size(64, 48).frameBufferSize(2).build();
        assertThat(c.steps()).isEqualTo(3);
        assertThat(c.batchSize()).isEqualTo(6);
        assertThat(c.latentWidth()).isEqualTo(8);
        assertThat(c.latentHeight()).isEqualTo(6);
        assertThat(c.toBuilder().useDenoisingBatch(false).build().batchSize()).isEqualTo(2);
        assertThat(c.similarFilter()).isEqualTo(SimilarityFilterSettings.DISABLED);
        assertThat(c.toString()).contains("[10, 20, 30]").contains("64x48").contains("frame_buffer_size=2");
        int[] t = c.tIndexList();
        t[0] = 99;
        assertThat(c.tIndexList()).as("a copy").startsWith(10);
        assertThatThrownBy(() -> StreamConfig.builder().tIndexList().build()).hasMessageContaining("at least one entry");
        assertThatThrownBy(() -> StreamConfig.builder().tIndexList(5, -1).build()).hasMessageContaining("found -1");
        assertThatThrownBy(() -> StreamConfig.builder().size(0, 64).build()).hasMessageContaining("width");
        assertThatThrownBy(() -> StreamConfig.builder().size(64, 60).build()).hasMessageContaining("height must be a positive multiple of 8");
        assertThatThrownBy(() -> StreamConfig.builder().size(64, -8).build()).hasMessageContaining("height");
        assertThatThrownBy(() -> StreamConfig.builder().frameBufferSize(0).build()).hasMessageContaining("frame_buffer_size must be >= 1");
        assertThatThrownBy(() -> StreamConfig.builder().cfgType(null).build()).hasMessageContaining("cfg_type");
        assertThat(StreamConfig.builder().tIndexList(0).size(8, 8).build().steps()).isEqualTo(1);
    }

    @Test
    void similarityFilterSettingsStayInRange() {
        assertThatThrownBy(() -> new SimilarityFilterSettings(true, 1.01, 1)).hasMessageContaining("threshold must be in [0, 1]");
        assertThatThrownBy(() -> new SimilarityFilterSettings(true, -0.01, 1)).hasMessageContaining("threshold");
        assertThatThrownBy(() -> new SimilarityFilterSettings(true, Double.NaN, 1)).hasMessageContaining("threshold");
        assertThatThrownBy(() -> new SimilarityFilterSettings(true, 0.5, -1)).hasMessageContaining("max_skip_frame must be >= 0");
        assertThat(new SimilarityFilterSettings(true, 0, 0).threshold()).isZero();
        assertThat(new SimilarityFilterSettings(true, 1, 0).threshold()).isEqualTo(1);
    }
}
