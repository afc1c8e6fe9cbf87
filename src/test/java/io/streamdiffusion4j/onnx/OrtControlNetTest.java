package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.ControlNetTestModels;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ONNX Runtime side of ControlNet on the fixture's tiny UNet, with graphs of the contract's
 * names ({@link ControlNetTestModels}): the ControlNet's residuals come back in order with the
 * scale applied, the UNet with residual inputs takes them (split for pre-computation or whole),
 * zero residuals give exactly the plain UNet's prediction, and a plain UNet refuses residuals.
 */
class OrtControlNetTest {
    private static final int ROWS = 2;
    private static final int LATENT = 8;

    private static FloatTensor randn(long seed, int... shape) {
        return new TorchGenerator(seed).randn(shape);
    }

    @Test
    void theUnetWithResidualInputsEqualsThePlainOneWithZerosAndAddsTheControlNetsResiduals(@TempDir Path dir) throws Exception {
        Path unetControl = ControlNetTestModels.unetWithControl(Fixtures.onnxModel().resolve("unet"), dir.resolve("unet_control"));
        Path cnFile = ControlNetTestModels.controlNet(dir.resolve("cn"), 4, 16);
        FloatTensor sample = randn(1, ROWS, 4, LATENT, LATENT);
        long[] t = {359, 99};
        FloatTensor hidden = randn(2, ROWS, 77, 16);
        FloatTensor control = randn(3, ROWS, 3, 8 * LATENT, 8 * LATENT);
        for (int i = 0; i < control.size(); i++) control.data()[i] = Math.clamp(0.5f + 0.3f * control.data()[i], 0f, 1f);
        for (boolean precompute : new boolean[] {true, false}) {
            OnnxModelLoader.Options options = OnnxModelLoader.Options.defaults().withPrecomputeConditioning(precompute);
            try (StableDiffusionModels plain = OnnxModelLoader.load(Fixtures.onnxModel(), null, options);
                 StableDiffusionModels withControl = OnnxModelLoader.load(Fixtures.onnxModel(), null, options, unetControl);
                 OrtControlNet cn = OnnxModelLoader.loadControlNet(dir.resolve("cn"), options)) {
                assertThat(cnFile).exists();
                Unet u = withControl.unet();
                assertThat(u.acceptsResiduals()).isTrue();
                assertThat(plain.unet().acceptsResiduals()).isFalse();
                assertThat(((OrtUnet) u).residualInputs()).isEqualTo(13);
                assertThat(((OrtUnet) u).precomputes()).isEqualTo(precompute);
                float[] expected = new float[sample.size()];
                try (Unet.Conditioning c = plain.unet().prepare(sample.shape(), t, hidden)) {
                    plain.unet().predictNoiseInto(sample, c, expected);
                }
                List<int[]> shapes = cn.residualShapes(sample.shape());
                assertThat(shapes).hasSize(13);
                assertThat(shapes.getFirst()).containsExactly(ROWS, 1, LATENT, LATENT);
                float[] zeroResiduals = new float[sample.size()];
                float[] withResiduals = new float[sample.size()];
                ControlResiduals r = cn.residuals(sample, t, hidden, control, 0.8f);
                try (Unet.Conditioning c = u.prepare(sample.shape(), t, hidden)) {
                    u.predictNoiseInto(sample, c, ControlResiduals.zeros(shapes), zeroResiduals);
                    u.predictNoiseInto(sample, c, r, withResiduals);
                    assertThatThrownBy(() -> u.predictNoiseInto(sample, c, new float[sample.size()]))
                            .hasMessageContaining("takes ControlNet residuals");
                }
                assertThat(zeroResiduals).as("precompute " + precompute + ": zero residuals are the plain UNet").isEqualTo(expected);
                // the ControlNet stand-in: scale * (mean of the 8x8-pooled control + 0.1 mean_c(sample)) * (i + 1) / 12
                int plane = LATENT * LATENT;
                for (int row = 0; row < ROWS; row++) {
                    for (int p : new int[] {0, 17, plane - 1}) {
                        int y = p / LATENT, x = p % LATENT;
                        double cm = 0;
                        for (int ch = 0; ch < 3; ch++) {
                            for (int dy = 0; dy < 8; dy++) {
                                for (int dx = 0; dx < 8; dx++) {
                                    cm += control.data()[((row * 3 + ch) * 8 * LATENT + y * 8 + dy) * 8 * LATENT + x * 8 + dx];
                                }
                            }
                        }
                        cm /= 3 * 64;
                        double sm = 0;
                        for (int ch = 0; ch < 4; ch++) sm += sample.data()[(row * 4 + ch) * plane + p];
                        sm /= 4;
                        double base = 0.8 * (cm + 0.1 * sm);
                        assertThat((double) r.down().get(2).data()[row * plane + p]).isCloseTo(base * 3 / 12, org.assertj.core.data.Offset.offset(1e-5));
                        assertThat((double) r.mid().data()[row * plane + p]).isCloseTo(base * 0.5, org.assertj.core.data.Offset.offset(1e-5));
                        // the UNet stand-in adds the sum of the residuals' channel means: base * (78 / 12 + 0.5)
                        int k = (row * 4 + 1) * plane + p;
                        assertThat((double) withResiduals[k]).isCloseTo(expected[k] + base * (78.0 / 12 + 0.5),
                                org.assertj.core.data.Offset.offset(1e-4));
                    }
                }
                assertThatThrownBy(() -> {
                    try (Unet.Conditioning c = plain.unet().prepare(sample.shape(), t, hidden)) {
                        plain.unet().predictNoiseInto(sample, c, r, new float[sample.size()]);
                    }
                }).hasMessageContaining("no ControlNet residual inputs");
            }
        }
    }

    @Test
    void aGraphWithoutTheContractsOutputsIsRefusedByName(@TempDir Path dir) {
        assertThatThrownBy(() -> OnnxModelLoader.loadControlNet(Fixtures.onnxModel().resolve("unet"),
                OnnxModelLoader.Options.defaults())).isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("controlnet_cond");
        assertThatThrownBy(() -> OnnxModelLoader.loadControlNet(dir.resolve("missing"), OnnxModelLoader.Options.defaults()))
                .hasMessageContaining("does not exist");
    }
}
