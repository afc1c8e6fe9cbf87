package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.SdxlConditioning;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.OrtRunner;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SDXL parity: the converted tiny-sdxl model (this project's {@code models create --config
 * tiny-sdxl}, seed 0, then {@code convert}) against reference outputs of the same weights.
 *
 * <p>The references in {@code src/test/resources/sdxl/} were made outside the repository with
 * /usr/bin/python3 and torch 1.13 (float32, CPU) on the safetensors that {@code models create
 * --config tiny-sdxl} writes (RandomModels.WEIGHTS_VERSION 2; a change of the weight rules makes
 * them stale): {@code unet_out.npy} by diffusers v0.24.0's own {@code UNet2DConditionModel}
 * (unet_2d_condition.py unmodified, hub/IO imports stubbed), config.json as written, strict state
 * dict load, inputs {@code torch.manual_seed(7)}: randn sample (2, 4, 8, 8), randn
 * encoder_hidden_states (2, 77, 48), randn text_embeds (2, 32), timesteps (999, 259), time_ids
 * ((64, 64, 0, 0, 64, 64), (512, 768, 16, 8, 1024, 1024)); {@code prompt_embeds.npy} and
 * {@code pooled_prompt_embeds.npy} by transformers 4.35's CLIPTextTransformer math re-written in
 * torch (modeling_clip.py: embeddings, causal mask, pre-LN layers, pooling at the first eos id,
 * CLIPTextModelWithProjection's bias-free text_projection) combined as diffusers v0.24.0's
 * {@code StableDiffusionXLPipeline.encode_prompt} does (cat of both {@code hidden_states[-2]},
 * pooled = text_embeds of text_encoder_2), for the ids in {@code ids1.npy} / {@code ids2.npy}
 * (the same text padded with the end token and with {@code !}).
 */
class SdxlParityTest {
    private static final double TOLERANCE = 1e-4;

    @TempDir
    static Path dir;
    private static Path model;

    @BeforeAll
    static void createAndConvert() throws Exception {
        Path source = dir.resolve("tiny-sdxl");
        RandomModels.create(ModelPreset.TINY_SDXL, 0, source, null);
        model = dir.resolve("onnx");
        DiffusersConverter.convert(source, model, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(SdxlParityTest.class.getResource("/sdxl/" + name).toURI());
    }

    private static int[][] ids(String name) throws Exception {
        long[] flat = Npy.readLongs(resource(name));
        int[][] out = new int[2][flat.length / 2];
        for (int i = 0; i < flat.length; i++) out[i / out[0].length][i % out[0].length] = (int) flat[i];
        return out;
    }

    /** The UNet inputs the reference drew: torch.manual_seed(7), randn sample, hidden states, text_embeds. */
    private record UnetInputs(FloatTensor sample, FloatTensor hidden, FloatTensor textEmbeds) {
        static UnetInputs draw() {
            TorchGenerator gen = new TorchGenerator(7);
            return new UnetInputs(gen.randn(2, 4, 8, 8), gen.randn(2, 77, 48), gen.randn(2, 32));
        }
    }

    private static final long[] TIMESTEPS = {999, 259};

    @Test
    void unetGraphMatchesDiffusers() throws Exception {
        UnetInputs in = UnetInputs.draw();
        FloatTensor timeIds = new FloatTensor(new float[] {64, 64, 0, 0, 64, 64, 512, 768, 16, 8, 1024, 1024}, 2, 6);
        var out = OrtRunner.run(model.resolve("unet/model.onnx"), Map.of("sample", in.sample(), "timestep", TIMESTEPS,
                "encoder_hidden_states", in.hidden(), "text_embeds", in.textEmbeds(), "time_ids", timeIds));
        FloatTensor expected = Npy.readFloats(resource("unet_out.npy"));
        double d = assertClose("out_sample", out.get("out_sample"), expected, TOLERANCE);
        System.out.printf("tiny-sdxl UNet vs diffusers: max |diff| %.3g%n", d);
    }

    @Test
    void textEncodersMatchTransformers() throws Exception {
        var first = OrtRunner.run(model.resolve("text_encoder/model.onnx"), Map.of("input_ids", ids("ids1.npy")));
        var second = OrtRunner.run(model.resolve("text_encoder_2/model.onnx"), Map.of("input_ids", ids("ids2.npy")));
        FloatTensor h1 = first.get(SdxlTextEncoders.penultimateOutput(2));
        FloatTensor h2 = second.get(SdxlTextEncoders.penultimateOutput(3));
        float[] joined = new float[2 * 77 * 48];
        for (int t = 0; t < 2 * 77; t++) {
            System.arraycopy(h1.data(), t * 16, joined, t * 48, 16);
            System.arraycopy(h2.data(), t * 32, joined, t * 48 + 16, 32);
        }
        double h = assertClose("prompt_embeds", joined, Npy.readFloats(resource("prompt_embeds.npy")).data(), TOLERANCE);
        double p = assertClose("pooled", second.get("text_embeds"), Npy.readFloats(resource("pooled_prompt_embeds.npy")), TOLERANCE);
        System.out.printf("tiny-sdxl text encoders vs transformers: hidden %.3g, pooled %.3g%n", h, p);
    }

    @Test
    void loadedModelsPackThePooledEmbeddingAndDeriveTimeIds() throws Exception {
        float[] expectedHidden = Npy.readFloats(resource("prompt_embeds.npy")).data();
        float[] expectedPooled = Npy.readFloats(resource("pooled_prompt_embeds.npy")).data();
        float[] expectedUnet = Npy.readFloats(resource("unet_out.npy")).data();
        int[][] a = ids("ids1.npy");
        int[][] b = ids("ids2.npy");
        for (boolean precompute : new boolean[] {true, false}) {
            var options = OnnxModelLoader.Options.defaults().withPrecomputeConditioning(precompute);
            try (StableDiffusionModels m = OnnxModelLoader.load(model, null, options)) {
                assertThat(m.textEncoder().hiddenSize()).isEqualTo(48);
                assertThat(m.textEncoder().embeddingLength()).isEqualTo(78);
                for (int row = 0; row < 2; row++) {
                    int[] both = new int[154];
                    System.arraycopy(a[row], 0, both, 0, 77);
                    System.arraycopy(b[row], 0, both, 77, 77);
                    FloatTensor packed = m.textEncoder().encode(both);
                    assertThat(packed.shape()).containsExactly(1, 78, 48);
                    assertClose("tokens", Arrays.copyOf(packed.data(), 77 * 48),
                            Arrays.copyOfRange(expectedHidden, row * 77 * 48, (row + 1) * 77 * 48), TOLERANCE);
                    assertClose("pooled row", SdxlConditioning.pooled(packed, 32),
                            Arrays.copyOfRange(expectedPooled, row * 32, (row + 1) * 32), TOLERANCE);
                    assertThat(Arrays.copyOfRange(packed.data(), 77 * 48 + 32, 78 * 48)).containsOnly(0f);
                }
                // the UNet with the packed embedding: row 0's reference time ids are what 8x8 latents give (64 px)
                UnetInputs in = UnetInputs.draw();
                float[] packed = new float[2 * 78 * 48];
                for (int row = 0; row < 2; row++) {
                    System.arraycopy(in.hidden().data(), row * 77 * 48, packed, row * 78 * 48, 77 * 48);
                    System.arraycopy(in.textEmbeds().data(), row * 32, packed, row * 78 * 48 + 77 * 48, 32);
                }
                FloatTensor out = m.unet().predictNoise(in.sample(), TIMESTEPS, new FloatTensor(packed, 2, 78, 48));
                double d = assertClose("row 0 of out_sample (precompute " + precompute + ")", Arrays.copyOf(out.data(), 256),
                        Arrays.copyOf(expectedUnet, 256), TOLERANCE);
                System.out.printf("tiny-sdxl packed UNet (precompute %s) vs diffusers: max |diff| %.3g%n", precompute, d);
            }
        }
    }
}
