package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.OrtRunner;
import io.streamdiffusion4j.weights.SafeTensors;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The IP-Adapter graphs built in Java (CLIP vision encoder, the UNet with decoupled cross-attention)
 * against reference outputs of diffusers' / transformers' math on the tiny random models; how the
 * references were made is in src/test/resources/ip-adapter/README.md.
 */
class IpAdapterGraphTest {
    private static final double TOLERANCE = 1e-4;
    @TempDir
    static Path dir;
    private static Path model;
    private static Path adapter;

    @BeforeAll
    static void createModels() throws Exception {
        model = dir.resolve("tiny");
        adapter = dir.resolve("tiny-ip-adapter");
        RandomModels.create(ModelPreset.TINY, 0, model, null);
        RandomModels.create(IpAdapterPreset.TINY, 0, adapter, null);
    }

    /** The harness's inputs: {@code float32(sin(a * i + b) * amp)} over the flattened tensor. */
    static FloatTensor formula(double a, double b, double amp, int... shape) {
        float[] v = new float[(int) FloatTensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (Math.sin(a * i + b) * amp);
        return new FloatTensor(v, shape);
    }

    private static FloatTensor reference(String name) throws Exception {
        return Npy.readFloats(Path.of(IpAdapterGraphTest.class.getResource("/ip-adapter/" + name).toURI()));
    }

    private static Path write(OnnxGraph g, String name) throws Exception {
        Path out = Files.createDirectories(dir.resolve(name));
        OnnxWriter.write(g, out, null);
        return out.resolve("model.onnx");
    }

    private static Path unet(boolean withAdapter, String name) throws Exception {
        UnetConfig c = UnetConfig.read(model.resolve("unet/config.json"));
        try (SafeTensors w = SafeTensors.open(model.resolve("unet/diffusion_pytorch_model.safetensors"))) {
            if (!withAdapter) return write(UnetGraph.build(w, c, false), name);
            try (IpAdapterWeights ip = IpAdapterWeights.open(IpAdapterFolder.of(adapter).weights())) {
                return write(UnetGraph.build(w, c, false, ip), name);
            }
        }
    }

    private static Map<String, Object> unetInputs() {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("sample", formula(0.21, 0.1, 1, 2, 4, 8, 8));
        in.put("timestep", new long[] {999, 500});
        in.put("encoder_hidden_states", formula(0.173, 0, 1, 2, 77, 16));
        return in;
    }

    /** The image projection alone (the image graph's second half) on the formula's embeddings. */
    private static FloatTensor imageTokens() throws Exception {
        OnnxGraph g = new OnnxGraph("projection", false);
        Path onnx;
        try (IpAdapterWeights ip = IpAdapterWeights.open(IpAdapterFolder.of(adapter).weights())) {
            Layers nn = new Layers(g, ip.source());
            var embeds = g.floatInput("image_embeds", "batch_size", ip.embedDim());
            g.floatOutput("image_tokens", IpAdapterImageGraph.project(nn, ip, embeds), "batch_size", ip.tokens(), 16);
            onnx = write(g, "projection");
        }
        return OrtRunner.run(onnx, Map.of("image_embeds", formula(0.7, 0.2, 2, 2, 24))).get("image_tokens");
    }

    /** The adapter's UNet input: per row the prompt's 77 rows, the 4 image tokens, and the scale row (scale, 0, ...). */
    private static Map<String, Object> ipInputs(float scale) throws Exception {
        Map<String, Object> in = unetInputs();
        FloatTensor text = (FloatTensor) in.get("encoder_hidden_states");
        FloatTensor tokens = imageTokens();
        int rows = 77 + 4 + 1;
        float[] ext = new float[2 * rows * 16];
        for (int b = 0; b < 2; b++) {
            System.arraycopy(text.data(), b * 77 * 16, ext, b * rows * 16, 77 * 16);
            System.arraycopy(tokens.data(), b * 4 * 16, ext, (b * rows + 77) * 16, 4 * 16);
            ext[(b * rows + 81) * 16] = scale;
        }
        in.put("encoder_hidden_states", new FloatTensor(ext, 2, rows, 16));
        return in;
    }

    @Test
    void imageProjectionMatchesDiffusers() throws Exception {
        double d = assertClose("image_tokens", imageTokens(), reference("image_tokens.npy"), TOLERANCE);
        System.out.printf("ImageProjection vs diffusers math: max diff %.2e%n", d);
    }

    @Test
    void imageGraphChainsEncoderAndProjection() throws Exception {
        IpAdapterFolder folder = IpAdapterFolder.of(adapter);
        ClipVisionConfig c = ClipVisionConfig.read(folder.imageEncoder().resolve("config.json"));
        Path onnx;
        try (SafeTensors w = SafeTensors.open(folder.imageEncoder().resolve("model.safetensors"));
             IpAdapterWeights ip = IpAdapterWeights.open(folder.weights())) {
            onnx = write(IpAdapterImageGraph.build(w, c, ip, false), "ip-image");
        }
        var out = OrtRunner.run(onnx, Map.of("pixel_values", formula(0.37, 0.5, 1.5, 2, 3, 32, 32)));
        assertClose("image_embeds", out.get("image_embeds"), reference("clip_vision_image_embeds.npy"), TOLERANCE);
        assertThat(out.get("image_tokens").shape()).containsExactly(2, 4, 16);
        assertClose("negative_image_tokens", out.get("negative_image_tokens"), reference("negative_image_tokens.npy"), TOLERANCE);
    }

    @Test
    void clipVisionEncoderMatchesTransformers() throws Exception {
        IpAdapterFolder folder = IpAdapterFolder.of(adapter);
        ClipVisionConfig c = ClipVisionConfig.read(folder.imageEncoder().resolve("config.json"));
        assertThat(c).isEqualTo(IpAdapterPreset.TINY.imageEncoder());
        Path onnx;
        try (SafeTensors w = SafeTensors.open(folder.imageEncoder().resolve("model.safetensors"))) {
            onnx = write(ClipVisionGraph.build(w, c, false), "image_encoder");
        }
        var out = OrtRunner.run(onnx, Map.of("pixel_values", formula(0.37, 0.5, 1.5, 2, 3, 32, 32)));
        FloatTensor embeds = out.get("image_embeds");
        assertThat(embeds.shape()).containsExactly(2, 24);
        double d = assertClose("image_embeds", embeds, reference("clip_vision_image_embeds.npy"), TOLERANCE);
        System.out.printf("CLIP vision image_embeds vs transformers math: max diff %.2e%n", d);
    }

    @Test
    void unetWithAdapterMatchesDiffusersIpAdapterAttention() throws Exception {
        var plain = OrtRunner.run(unet(false, "unet-plain"), unetInputs()).get("out_sample");
        var ip = OrtRunner.run(unet(true, "unet-ip"), ipInputs(0.8f)).get("out_sample");
        double dp = assertClose("plain UNet", plain, reference("unet_plain.npy"), TOLERANCE);
        double di = assertClose("UNet with IP-Adapter at 0.8", ip, reference("unet_ip_scale_0.8.npy"), TOLERANCE);
        // the adapter changes the output far beyond the tolerance, so the comparison above says something
        double effect = 0;
        for (int i = 0; i < plain.data().length; i++) effect = Math.max(effect, Math.abs(ip.data()[i] - plain.data()[i]));
        assertThat(effect).isGreaterThan(100 * TOLERANCE);
        System.out.printf("UNet vs diffusers math: plain %.2e, IP-Adapter %.2e (adapter effect %.2e)%n", dp, di, effect);
    }

    @Test
    void scaleZeroReproducesThePlainUnetExactly() throws Exception {
        var plain = OrtRunner.run(unet(false, "unet-plain0"), unetInputs()).get("out_sample");
        var zero = OrtRunner.run(unet(true, "unet-ip0"), ipInputs(0f)).get("out_sample");
        assertThat(zero.data()).isEqualTo(plain.data());
    }

    @Test
    void numbersCrossAttentionsInAttentionProcessorOrder() throws Exception {
        List<String> attns = IpAdapterWeights.crossAttentions(UnetConfig.read(model.resolve("unet/config.json")));
        assertThat(attns).hasSize(16); // SD's 6 down + 9 up + 1 mid, as ip-adapter_sd15's ip_adapter.1 .. ip_adapter.31
        assertThat(attns.get(0)).isEqualTo("down_blocks.0.attentions.0.transformer_blocks.0.attn2");
        assertThat(attns.get(6)).isEqualTo("up_blocks.1.attentions.0.transformer_blocks.0.attn2");
        assertThat(attns.get(15)).isEqualTo("mid_block.attentions.0.transformer_blocks.0.attn2");
        assertThat(IpAdapterWeights.key(15)).isEqualTo("ip_adapter.31");
    }

    @Test
    void refusesPickles(@TempDir Path tmp) throws Exception {
        Path bin = Files.writeString(tmp.resolve("ip-adapter_sd15.bin"), "not read");
        assertThatThrownBy(() -> IpAdapterWeights.open(bin))
                .isInstanceOf(InputFileException.class)
                .hasMessageContaining(bin.toString())
                .hasMessageContaining("use the .safetensors file");
    }

    @Test
    void aMissingCrossAttentionWeightIsNamed(@TempDir Path tmp) throws Exception {
        Path full = IpAdapterFolder.of(adapter).weights();
        Path cut = tmp.resolve("ip-adapter.safetensors");
        List<SafeTensors.Tensor> kept = new ArrayList<>();
        try (SafeTensors w = SafeTensors.open(full)) {
            for (String n : w.names()) {
                if (n.equals("ip_adapter.7.to_v_ip.weight")) continue;
                kept.add(new SafeTensors.Tensor(n, w.entry(n).dtype(), w.shape(n), w.floats(n)));
            }
        }
        SafeTensors.write(cut, kept, Map.of());
        UnetConfig c = UnetConfig.read(model.resolve("unet/config.json"));
        try (SafeTensors w = SafeTensors.open(model.resolve("unet/diffusion_pytorch_model.safetensors"));
             IpAdapterWeights ip = IpAdapterWeights.open(cut)) {
            assertThatThrownBy(() -> UnetGraph.build(w, c, false, ip))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("ip_adapter.7.to_v_ip.weight")
                    .hasMessageContaining("down_blocks.1.attentions.1.transformer_blocks.0.attn2");
        }
    }

    @Test
    void anAdapterForAnotherWidthIsRefused() throws Exception {
        UnetConfig sd15 = UnetConfig.parse(ModelPreset.SD15.architecture().unet(), Path.of("unet/config.json"));
        try (IpAdapterWeights ip = IpAdapterWeights.open(IpAdapterFolder.of(adapter).weights())) {
            assertThatThrownBy(() -> ip.requireFits(sd15, a -> 320))
                    .hasMessageContaining("cross_attention_dim is 768");
        }
    }

    @Test
    void fullSizePresetsHaveThePublishedSizes() throws Exception {
        // h94/IP-Adapter ip-adapter_sd15.safetensors: 22.3 M weights (44.6 MB in float16); models/image_encoder
        // (OpenCLIP ViT-H/14 vision tower with projection): 632 M
        long sd15 = RandomModels.parameterCount(IpAdapterPreset.SD15);
        long encoder = 0;
        for (var s : WeightSpecs.clipVision(IpAdapterPreset.SD15.imageEncoder())) encoder += s.numel();
        assertThat(sd15 - encoder).isBetween(22_200_000L, 22_400_000L);
        assertThat(encoder).isBetween(631_000_000L, 634_000_000L);
        assertThat(RandomModels.parameterCount(IpAdapterPreset.SD_TURBO)).isGreaterThan(sd15); // K/V to 1024-wide tokens
    }
}
