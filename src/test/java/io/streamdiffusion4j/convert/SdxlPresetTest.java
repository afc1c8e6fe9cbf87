package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.text.ClipTokenizer;
import io.streamdiffusion4j.text.PairedTokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SDXL presets' configs, the text_time config rules, and SDXL's two tokenizers. */
class SdxlPresetTest {
    private static final Path FILE = Path.of("unet/config.json");

    @Test
    void sdxlTurboHasTheRealUnetSize() throws Exception {
        // stabilityai/sdxl-turbo's (= SDXL 1.0 base's) UNet: 2,567,463,684 parameters, as
        // sum(p.numel() for p in UNet2DConditionModel.from_pretrained(...).parameters()) gives
        assertThat(RandomModels.unetParameterCount(ModelPreset.SDXL_TURBO.architecture())).isEqualTo(2_567_463_684L);
        UnetConfig c = UnetConfig.parse(ModelPreset.SDXL_TURBO.architecture().unet(), FILE);
        assertThat(c.addedEmbedding()).isEqualTo(new SdxlAddedEmbedding.Config(256, 2816));
        assertThat(c.addedEmbedding().textEmbedsDim()).isEqualTo(1280);
        assertThat(c.transformerLayersPerBlock()).containsExactly(1, 2, 10);
        assertThat(c.crossAttentionDim()).isEqualTo(2048);
    }

    @Test
    void otherAddedEmbeddingsAreRefusedByName() {
        ObjectNode n = ModelPreset.TINY_SDXL.architecture().unet().deepCopy();
        n.put("addition_embed_type", "text_image");
        assertThatThrownBy(() -> UnetConfig.parse(n, FILE)).isInstanceOf(InputFileException.class)
                .hasMessageContaining("'addition_embed_type' text_image is not supported");
        ObjectNode m = ModelPreset.TINY_SDXL.architecture().unet().deepCopy();
        m.remove("addition_time_embed_dim");
        assertThatThrownBy(() -> UnetConfig.parse(m, FILE)).isInstanceOf(InputFileException.class)
                .hasMessageContaining("addition_time_embed_dim");
        ObjectNode k = ModelPreset.TINY_SDXL.architecture().unet().deepCopy();
        k.put("projection_class_embeddings_input_dim", 48);
        assertThatThrownBy(() -> UnetConfig.parse(k, FILE)).isInstanceOf(InputFileException.class)
                .hasMessageContaining("leaves no room for the pooled text embedding");
    }

    @Test
    void theSecondTokenizerPadsWithBangAndSplitsIt(@TempDir Path dir) throws Exception {
        ByteLevelTokenizer.write(dir.resolve("a"));
        ByteLevelTokenizer.write(dir.resolve("b"), "!");
        ClipTokenizer first = ClipTokenizer.load(dir.resolve("a"));
        ClipTokenizer second = ClipTokenizer.load(dir.resolve("b"));
        int[] both = new PairedTokenizer(first, second).encode("hi!! fox");
        int[] a = Arrays.copyOfRange(both, 0, 77);
        int[] b = Arrays.copyOfRange(both, 77, 154);
        assertThat(a).isEqualTo(first.encode("hi!! fox"));
        assertThat(b).isEqualTo(second.encode("hi!! fox"));
        assertThat(a[76]).isEqualTo(ByteLevelTokenizer.EOS);
        assertThat(b[76]).isEqualTo(second.padId()).isEqualTo('!');
        // '!' is the second tokenizer's special pad token, split off as its own token: the ids differ in the text too
        assertThat(Arrays.copyOfRange(a, 0, 8)).isNotEqualTo(Arrays.copyOfRange(b, 0, 8));
    }
}
