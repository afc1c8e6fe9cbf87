package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.OrtRunner;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The UNet graph built in Java from the fixture's diffusers weights gives the same outputs as the
 * fixture's torch (Optimum) export, in the SD 2.x layout (linear projections) and, from the same
 * weights rearranged, in the SD 1.x layout (1x1 conv projections).
 */
class UnetGraphTest {

    private static Path unetDir() {
        return Fixtures.dir().resolve("models/tiny-sd-turbo/unet");
    }

    private static Path reference() {
        return Fixtures.onnxModel().resolve("unet/model.onnx");
    }

    private static Path convert(Path weightsFile, Path configFile, Path out, boolean half) throws Exception {
        UnetConfig config = UnetConfig.read(configFile);
        try (var weights = SafeTensors.open(weightsFile)) {
            OnnxWriter.write(UnetGraph.build(weights, config, half), out, null);
        }
        return out.resolve("model.onnx");
    }

    /** One timestep per batch row. */
    private static Map<String, Object> inputs(long seed, long[] timesteps, int size) {
        return inputs(seed, timesteps.length, timesteps, size);
    }

    private static Map<String, Object> inputs(long seed, int batch, long[] timesteps, int size) {
        TorchGenerator gen = new TorchGenerator(seed);
        FloatTensor sample = gen.randn(batch, 4, size, size);
        FloatTensor context = gen.randn(batch, 77, 16);
        return Map.of("sample", sample, "timestep", timesteps, "encoder_hidden_states", context);
    }

    @Test
    void matchesTheTorchExport(@TempDir Path dir) throws Exception {
        Path ours = convert(unetDir().resolve("diffusion_pytorch_model.safetensors"), unetDir().resolve("config.json"),
                dir, false);
        var cases = List.of(inputs(11, new long[] {359, 99}, 8), inputs(12, new long[] {999, 500, 1}, 16),
                inputs(15, 2, new long[] {500}, 8)); // one timestep for every row, broadcast like diffusers' expand
        List<FloatTensor> actual = runAll(ours, cases);
        List<FloatTensor> expected = runAll(reference(), cases);
        for (int i = 0; i < cases.size(); i++) {
            assertThat(actual.get(i).shape()).isEqualTo(((FloatTensor) cases.get(i).get("sample")).shape());
            double diff = assertClose("out_sample", actual.get(i), expected.get(i), 1e-4);
            System.out.printf("UNet vs torch export, %s: max |diff| %.3g%n", expected.get(i), diff);
        }
    }

    /**
     * Runs one session on several inputs ({@link OrtRunner} opens a session per run, and opening
     * the 7600-node reference export takes seconds).
     */
    private static List<FloatTensor> runAll(Path model, List<Map<String, Object>> cases) throws Exception {
        var env = OrtEnvironment.getEnvironment();
        List<FloatTensor> outputs = new ArrayList<>();
        try (var options = new OrtSession.SessionOptions(); var session = env.createSession(model.toString(), options)) {
            for (Map<String, Object> in : cases) {
                Map<String, OnnxTensor> feed = new LinkedHashMap<>();
                try {
                    for (var e : in.entrySet()) {
                        if (e.getValue() instanceof FloatTensor f) {
                            feed.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(f.data()), f.shapeAsLongs()));
                        } else {
                            long[] t = (long[]) e.getValue();
                            feed.put(e.getKey(), OnnxTensor.createTensor(env, LongBuffer.wrap(t), new long[] {t.length}));
                        }
                    }
                    try (var result = session.run(feed)) {
                        var out = (OnnxTensor) result.get("out_sample").orElseThrow();
                        long[] shape = out.getInfo().getShape();
                        float[] data = new float[(int) out.getInfo().getNumElements()];
                        out.getFloatBuffer().get(data);
                        outputs.add(new FloatTensor(data, Arrays.stream(shape).mapToInt(d -> (int) d).toArray()));
                    }
                } finally {
                    feed.values().forEach(OnnxTensor::close);
                }
            }
        }
        return outputs;
    }

    /** SD 1.x stores proj_in/proj_out as 1x1 convolutions: the same weights as [C, C, 1, 1] must give the same output. */
    @Test
    void convProjectionsMatchLinearProjections(@TempDir Path dir) throws Exception {
        Path weights = dir.resolve("sd15-style.safetensors");
        try (var src = SafeTensors.open(unetDir().resolve("diffusion_pytorch_model.safetensors"))) {
            List<SafeTensors.Tensor> tensors = new ArrayList<>();
            for (String name : src.names()) {
                int[] shape = src.shape(name);
                if (name.matches(".*attentions\\.\\d+\\.proj_(in|out)\\.weight")) shape = new int[] {shape[0], shape[1], 1, 1};
                tensors.add(new SafeTensors.Tensor(name, DType.F32, shape, src.floats(name)));
            }
            SafeTensors.write(weights, tensors, Map.of("format", "pt"));
        }
        Path config = editedConfig(dir, n -> n.put("use_linear_projection", false));
        assertThat(UnetConfig.read(config).useLinearProjection()).isFalse();

        Path conv = convert(weights, config, dir.resolve("conv"), false);
        Path linear = convert(unetDir().resolve("diffusion_pytorch_model.safetensors"), unetDir().resolve("config.json"),
                dir.resolve("linear"), false);
        var in = inputs(13, new long[] {359, 99}, 8);
        double diff = assertClose("out_sample", OrtRunner.run(conv, in).get("out_sample"),
                OrtRunner.run(linear, in).get("out_sample"), 1e-4);
        System.out.printf("UNet conv vs linear projections: max |diff| %.3g%n", diff);
    }

    @Test
    void headsMayBeOneNumberForAllBlocks(@TempDir Path dir) throws Exception {
        // SD 1.5 writes attention_head_dim: 8 (meaning 8 heads in every block); num_attention_heads wins when set
        UnetConfig sd15 = UnetConfig.read(editedConfig(dir, n -> {
            n.put("attention_head_dim", 8);
            n.remove("block_out_channels"); // diffusers' default (320, 640, 1280, 1280)
        }));
        assertThat(sd15.attentionHeads()).containsExactly(8, 8, 8, 8);
        assertThat(sd15.blockOutChannels()).containsExactly(320, 640, 1280, 1280);
        assertThat(sd15.upHeads(0)).isEqualTo(8);
        UnetConfig named = UnetConfig.read(editedConfig(dir, n -> n.put("num_attention_heads", 2)));
        assertThat(named.attentionHeads()).containsExactly(2, 2, 2, 2);
        UnetConfig fixture = UnetConfig.read(unetDir().resolve("config.json"));
        assertThat(fixture.attentionHeads()).containsExactly(2, 2, 4, 4);
        assertThat(fixture.upHeads(0)).isEqualTo(4);
        assertThat(fixture.upLayers(0)).isEqualTo(3);
        assertThat(fixture.timeEmbeddingDim()).isEqualTo(64);
    }

    /**
     * The structures of the small one-step UNets (SDXS: no mid block, a plain DownBlock2D first and
     * UpBlock2D last) against the torch-checked full structure: a Transformer2DModel whose proj_out
     * is zero and a resnet whose conv2 is zero are exact identities, so the fixture UNet with those
     * zeroed must give what the reduced structure gives without them.
     */
    @Test
    void reducedStructuresEqualTheFullOneWithIdentityBlocks(@TempDir Path dir) throws Exception {
        Path zeroed = dir.resolve("zeroed.safetensors");
        Path reduced = dir.resolve("reduced.safetensors");
        int removed = 0;
        try (var src = SafeTensors.open(unetDir().resolve("diffusion_pytorch_model.safetensors"))) {
            List<SafeTensors.Tensor> full = new ArrayList<>();
            List<SafeTensors.Tensor> small = new ArrayList<>();
            for (String name : src.names()) {
                boolean gone = name.startsWith("mid_block.") || name.startsWith("down_blocks.0.attentions.")
                        || name.startsWith("up_blocks.3.attentions.");
                boolean identity = gone && (name.matches(".*attentions\\.\\d+\\.proj_out\\..*")
                        || name.matches("mid_block\\.resnets\\.\\d+\\.conv2\\..*"));
                float[] v = src.floats(name);
                if (identity) v = new float[v.length];
                full.add(new SafeTensors.Tensor(name, DType.F32, src.shape(name), v));
                if (gone) removed++;
                else small.add(new SafeTensors.Tensor(name, DType.F32, src.shape(name), v));
            }
            SafeTensors.write(zeroed, full, Map.of("format", "pt"));
            SafeTensors.write(reduced, small, Map.of("format", "pt"));
        }
        assertThat(removed).isPositive();
        Path reducedConfig = editedConfig(dir.resolve("cfg-reduced"), n -> {
            n.putNull("mid_block_type");
            ((com.fasterxml.jackson.databind.node.ArrayNode) n.get("down_block_types")).set(0, UnetConfig.DOWN);
            ((com.fasterxml.jackson.databind.node.ArrayNode) n.get("up_block_types")).set(3, UnetConfig.UP);
        });
        UnetConfig c = UnetConfig.read(reducedConfig);
        assertThat(c.midBlockType()).isNull();
        // the weight list the converter checks against is exactly the reduced file's
        try (var w = SafeTensors.open(reduced)) {
            assertThat(WeightSpecs.unet(c).stream().map(SafeTensors.Spec::name).sorted().toList())
                    .isEqualTo(w.names().stream().sorted().toList());
        }
        var in = inputs(15, new long[] {999, 250}, 8);
        FloatTensor expected = OrtRunner.run(convert(zeroed, unetDir().resolve("config.json"), dir.resolve("full"), false), in)
                .get("out_sample");
        FloatTensor actual = OrtRunner.run(convert(reduced, reducedConfig, dir.resolve("reduced"), false), in).get("out_sample");
        double diff = assertClose("out_sample (no mid block, DownBlock2D first, UpBlock2D last)", actual, expected, 1e-5);
        System.out.printf("UNet reduced structure vs full with identity blocks: max |diff| %.3g%n", diff);
    }

    /**
     * The float16 graphs (attention in float16, and with upcast_attention in float32) load and run
     * in ONNX Runtime on the CPU and stay near the float32 graph.
     */
    @Test
    void halfGraphsRunNearFloat32(@TempDir Path dir) throws Exception {
        Path weights = unetDir().resolve("diffusion_pytorch_model.safetensors");
        var in = inputs(14, new long[] {359, 99}, 8);
        FloatTensor expected = OrtRunner.run(convert(weights, unetDir().resolve("config.json"), dir.resolve("full"), false), in)
                .get("out_sample");
        double scale = 0;
        for (float v : expected.data()) scale = Math.max(scale, Math.abs(v));
        for (boolean upcast : new boolean[] {false, true}) {
            Path config = editedConfig(dir, n -> n.put("upcast_attention", upcast));
            Path half = convert(weights, config, dir.resolve("half-" + upcast), true);
            double diff = assertClose("out_sample (float16, upcast_attention " + upcast + ")",
                    OrtRunner.run(half, in).get("out_sample"), expected, 0.02 * scale);
            System.out.printf("UNet float16 (upcast_attention %s) vs float32: max |diff| %.3g (max |out| %.3g)%n", upcast, diff, scale);
        }
    }

    /** The frequency constant is torch's, bit for bit (torch's float32 exp is not always correctly rounded). */
    @Test
    void timestepFrequenciesAreTorchs() {
        // torch.exp(-math.log(10000) * torch.arange(8, dtype=torch.float32) / 8), torch 1.13 CPU (the fixture's 16 channels)
        int[] fixture = {0x3f800000, 0x3ea1e89b, 0x3dcccccc, 0x3d0186e2, 0x3c23d70a, 0x3b4f3e33, 0x3a83126e, 0x39a5cb60};
        float[] f = UnetGraph.timestepFrequencies(16, 0f);
        for (int i = 0; i < fixture.length; i++) assertThat(Float.floatToRawIntBits(f[i])).as("frequency " + i).isEqualTo(fixture[i]);
        // SD's 320 channels: entries where torch's exp differs from the correctly rounded float
        float[] sd = UnetGraph.timestepFrequencies(320, 0f);
        assertThat(Float.floatToRawIntBits(sd[2])).isEqualTo(0x3f642906);
        assertThat(Float.floatToRawIntBits(sd[6])).isEqualTo(0x3f353bf0);
        assertThat(Float.floatToRawIntBits(sd[18])).isEqualTo(0x3eb5aa1a);
        assertThat(Float.floatToRawIntBits(sd[42])).isEqualTo(0x3db68738);
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws Exception {
        String missing = "up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight";
        Path weights = dir.resolve("incomplete.safetensors");
        try (var src = SafeTensors.open(unetDir().resolve("diffusion_pytorch_model.safetensors"))) {
            List<SafeTensors.Tensor> tensors = new ArrayList<>();
            for (String name : src.names()) {
                if (!name.equals(missing)) tensors.add(new SafeTensors.Tensor(name, DType.F32, src.shape(name), src.floats(name)));
            }
            SafeTensors.write(weights, tensors, Map.of());
        }
        assertThatThrownBy(() -> convert(weights, unetDir().resolve("config.json"), dir.resolve("out"), false))
                .hasMessageContaining(weights.toString())
                .hasMessageContaining(missing);
    }

    @Test
    void projectionLayoutMustMatchTheConfig(@TempDir Path dir) throws Exception {
        // SD 2.x weights (linear proj_in) with an SD 1.x config (use_linear_projection false)
        Path config = editedConfig(dir, n -> n.put("use_linear_projection", false));
        assertThatThrownBy(() -> convert(unetDir().resolve("diffusion_pytorch_model.safetensors"), config, dir.resolve("out"), false))
                .hasMessageContaining("down_blocks.0.attentions.0.proj_in.weight")
                .hasMessageContaining("use_linear_projection");
    }

    @Test
    void unsupportedBlockTypeIsNamed(@TempDir Path dir) throws Exception {
        Path config = editedConfig(dir, n -> n.putArray("down_block_types")
                .add("CrossAttnDownBlock2D").add("AttnDownBlock2D").add("CrossAttnDownBlock2D").add("DownBlock2D"));
        assertThatThrownBy(() -> UnetConfig.read(config))
                .hasMessageContaining(config.toString())
                .hasMessageContaining("'down_block_types' value AttnDownBlock2D is not supported");
        Path mid = editedConfig(dir, n -> n.put("mid_block_type", "UNetMidBlock2DSimpleCrossAttn"));
        assertThatThrownBy(() -> UnetConfig.read(mid))
                .hasMessageContaining("'mid_block_type' UNetMidBlock2DSimpleCrossAttn is not supported");
        Path lcm = editedConfig(dir, n -> n.put("time_cond_proj_dim", 256));
        assertThatThrownBy(() -> UnetConfig.read(lcm)).hasMessageContaining("'time_cond_proj_dim' 256 is not supported");
    }

    /** The fixture's config.json with some keys changed, written to {@code dir/config.json}. */
    private static Path editedConfig(Path dir, Consumer<ObjectNode> edit) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = (ObjectNode) json.readTree(Files.readString(unetDir().resolve("config.json")));
        edit.accept(n);
        Files.createDirectories(dir);
        Path file = dir.resolve("config.json");
        Files.writeString(file, json.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        return file;
    }
}
