package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.testing.StandInControlNet;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * With an IP-Adapter the UNet's embeddings carry the image tokens and the scale row after each
 * prompt embedding; the ControlNets take the prompt's rows only (diffusers passes them
 * {@code prompt_embeds}), and without an adapter they take the embeddings as they are.
 */
class ControlNetsPromptRowsTest {
    /** A stand-in that also keeps the embeddings it was given. */
    private static final class Recording implements io.streamdiffusion4j.model.ControlNet {
        final StandInControlNet net = new StandInControlNet(1f);
        final List<FloatTensor> embeddings = new ArrayList<>();

        @Override
        public io.streamdiffusion4j.model.ControlResiduals residuals(FloatTensor sample, long[] t, FloatTensor h, FloatTensor c,
                                                                      float scale) {
            embeddings.add(h.copy());
            return net.residuals(sample, t, h, c, scale);
        }

        @Override
        public List<int[]> residualShapes(int[] sampleShape) {
            return net.residualShapes(sampleShape);
        }

        @Override
        public void close() {
            net.close();
        }
    }

    private static FloatTensor counting(int rows, int length, int dim) {
        float[] v = new float[rows * length * dim];
        for (int i = 0; i < v.length; i++) v[i] = i;
        return new FloatTensor(v, rows, length, dim);
    }

    @Test
    void theControlNetsTakeThePromptRowsOnly() {
        Recording a = new Recording();
        Recording b = new Recording();
        ControlNets nets = new ControlNets(List.of(a, b), new double[] {0.5, 1}, false);
        FloatTensor sample = FloatTensor.zeros(2, 4, 2, 2);
        FloatTensor control = FloatTensor.zeros(2, 3, 16, 16);
        FloatTensor extended = counting(2, 7 + 5, 3); // 7 prompt rows, then 4 image tokens and the scale row
        nets.residuals(sample, new long[] {10, 20}, extended, control);
        assertThat(a.embeddings.getFirst().data()).as("unchanged without an adapter").isEqualTo(extended.data());

        nets.skipAppendedRows(5);
        nets.residuals(sample, new long[] {10, 20}, extended, control);
        for (Recording r : List.of(a, b)) {
            FloatTensor got = r.embeddings.get(1);
            assertThat(got.shape()).containsExactly(2, 7, 3);
            for (int row = 0; row < 2; row++) {
                for (int i = 0; i < 7 * 3; i++) {
                    assertThat(got.data()[row * 21 + i]).isEqualTo(extended.data()[row * 12 * 3 + i]);
                }
            }
        }
        assertThatThrownBy(() -> nets.residuals(sample, new long[] {10, 20}, counting(2, 5, 3), control))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5 of them are the IP-Adapter's");
    }

    @Test
    void aStreamWithBothNeedsTheAdaptersUnetWithResidualInputs() {
        java.nio.file.Path nowhere = java.nio.file.Path.of("not-loaded");
        var variant = new io.streamdiffusion4j.convert.IpAdapterStore.Variant(nowhere.resolve("unet"), nowhere.resolve("image_encoder"), 4);
        assertThatThrownBy(() -> StreamDiffusion.builder().model(nowhere).taesd(nowhere).controlNet(nowhere.resolve("cn.onnx"), 1)
                .ipAdapter(variant, 1).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("unetWithControl");
    }
}
