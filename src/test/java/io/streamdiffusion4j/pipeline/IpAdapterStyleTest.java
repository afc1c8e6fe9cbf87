package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.ImageEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import org.junit.jupiter.api.Test;

/** The layout of the adapter UNet's embeddings: prompt rows, then tokens (negative ones for unconditional rows), then the scale row. */
class IpAdapterStyleTest {
    /** Two tokens of width 3: the style image's are all 5, the zero embedding's all -1. */
    private static final class FakeEncoder implements ImageEncoder {
        boolean closed;

        public FloatTensor encode(RgbImage image) {
            return new FloatTensor(new float[] {5, 5, 5, 5, 5, 5}, 1, 2, 3);
        }

        public FloatTensor negativeTokens() {
            return new FloatTensor(new float[] {-1, -1, -1, -1, -1, -1}, 1, 2, 3);
        }

        public int tokens() {
            return 2;
        }

        public int crossAttentionDim() {
            return 3;
        }

        public void close() {
            closed = true;
        }
    }

    /** rows x 1 x 3 prompt embeddings, row r filled with r + 10. */
    private static FloatTensor prompts(int rows) {
        float[] v = new float[rows * 3];
        for (int r = 0; r < rows; r++) java.util.Arrays.fill(v, r * 3, r * 3 + 3, r + 10);
        return new FloatTensor(v, rows, 1, 3);
    }

    @Test
    void tokensEncodedElsewhereAreTakenAsTheImagesAndCheckedForShape() {
        FakeEncoder enc = new FakeEncoder();
        IpAdapterStyle fromImage = new IpAdapterStyle(enc, 0.7);
        IpAdapterStyle fromTokens = new IpAdapterStyle(enc, 0.7);
        fromImage.setImage(new RgbImage(8, 8, new byte[8 * 8 * 3]));
        fromTokens.setTokens(enc.encode(null));
        assertThat(fromTokens.hasImage()).isTrue();
        assertThat(fromTokens.extend(prompts(2), 1).data()).containsExactly(fromImage.extend(prompts(2), 1).data());
        assertThatThrownBy(() -> fromTokens.setTokens(new FloatTensor(new float[9], 1, 3, 3)))
                .hasMessageContaining("style tokens of shape [1, 3, 3], the adapter takes [1, 2, 3]");
        fromTokens.setTokens(null);
        assertThat(fromTokens.hasImage()).isFalse();
    }

    @Test
    void unconditionalRowsGetTheZeroEmbeddingsTokensAndEveryRowTheScale() {
        FakeEncoder enc = new FakeEncoder();
        IpAdapterStyle style = new IpAdapterStyle(enc, 0.7);
        style.setImage(new RgbImage(8, 8, new byte[8 * 8 * 3]));
        FloatTensor out = style.extend(prompts(3), 2); // one unconditional row, then two prompt rows
        assertThat(out.shape()).containsExactly(3, 4, 3);
        float[] d = out.data();
        // row 0 (unconditional): prompt 10, negative tokens, scale row
        assertThat(java.util.Arrays.copyOfRange(d, 0, 12)).containsExactly(10, 10, 10, -1, -1, -1, -1, -1, -1, 0.7f, 0, 0);
        // row 2 (conditional): prompt 12, style tokens, scale row
        assertThat(java.util.Arrays.copyOfRange(d, 24, 36)).containsExactly(12, 12, 12, 5, 5, 5, 5, 5, 5, 0.7f, 0, 0);
        style.close();
        assertThat(enc.closed).isTrue();
    }

    @Test
    void withoutAStyleImageEveryRowGetsTheNegativeTokensAtScaleZero() {
        IpAdapterStyle style = new IpAdapterStyle(new FakeEncoder(), 0.7);
        float[] d = style.extend(prompts(1), 1).data();
        assertThat(d).containsExactly(10, 10, 10, -1, -1, -1, -1, -1, -1, 0, 0, 0);
        assertThatThrownBy(() -> style.setScale(Double.NaN)).hasMessageContaining("ip_adapter_scale");
        assertThatThrownBy(() -> style.extend(new FloatTensor(new float[4], 1, 1, 4), 1)).hasMessageContaining("4");
    }
}
