package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.model.ControlNetNames;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.OrtRunner;
import io.streamdiffusion4j.testing.TensorAssert;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.WeightFiles;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ControlNet graph and the UNet with control inputs against diffusers v0.24.0.
 *
 * <p>How the references in {@code src/test/resources/controlnet/} were made: {@code models create
 * --config tiny-controlnet --seed 7} and {@code models create --config tiny --seed 7} (the same
 * weights {@link #createModels} makes here); diffusers v0.24.0's {@code ControlNetModel} and
 * {@code UNet2DConditionModel} (src/diffusers/models/controlnet.py and unet_2d_condition.py,
 * unmodified; only the imports of hub / IO packages stubbed) built from those config.json files and
 * loaded with {@code load_state_dict(strict=True)}, run in float32 on the CPU with torch 1.13 on
 * {@code torch.manual_seed(21)}; {@code randn(2,4,8,8)} sample, {@code randn(2,77,16)} prompt
 * embeddings, {@code clamp(randn(2,3,64,64) * 0.25 + 0.5, 0, 1)} conditioning image, timesteps
 * (999, 259), conditioning_scale 0.75. {@code controlnet(...)} gave the residuals
 * ({@code *_down_block_res_i.npy}, {@code *_mid_block_res.npy}); {@code unet(...)} without and with
 * them ({@code down_block_additional_residuals}, {@code mid_block_additional_residual}) gave
 * {@code *_unet_plain.npy} and {@code *_unet_controlled.npy}. {@code linear_*}: the presets' SD 2.x
 * layout; {@code conv_*}: the same values with proj_in / proj_out as 1x1 convolutions and
 * use_linear_projection false (SD 1.x layout). docs/PARITY.md describes the harness.
 */
class ControlNetGraphTest {
    private static final long[] TIMESTEPS = {999, 259};
    private static final float SCALE = 0.75f;
    private static final int DOWN = 12;

    @TempDir
    static Path dir;

    @BeforeAll
    static void createModels() throws Exception {
        RandomModels.createControlNet(ControlNetPreset.TINY, 7, dir.resolve("cn"), null);
        RandomModels.create(ModelPreset.TINY, 7, dir.resolve("tiny"), null);
        for (String layout : List.of("linear", "conv")) {
            boolean linear = layout.equals("linear");
            Path cn = layout(dir.resolve("cn"), dir.resolve("cn-" + layout), linear);
            Path unet = layout(dir.resolve("tiny/unet"), dir.resolve("unet-" + layout), linear);
            try (var w = WeightFiles.openFolder(cn)) {
                OnnxWriter.write(ControlNetGraph.build(w, ControlNetConfig.read(cn.resolve("config.json")), false),
                        dir.resolve("onnx-cn-" + layout), null);
            }
            Path plain = dir.resolve("onnx-unet-" + layout);
            try (var w = WeightFiles.openFolder(unet)) {
                OnnxWriter.write(UnetGraph.build(w, UnetConfig.read(unet.resolve("config.json")), false), plain, null);
            }
            Files.copy(unet.resolve("config.json"), plain.resolve("config.json"));
            assertThat(UnetControlInputs.writeVariant(plain, dir.resolve("onnx-unet-control-" + layout))).isEqualTo(DOWN);
        }
    }

    /** The folder as it is (SD 2.x layout), or rewritten with 1x1-conv projections and use_linear_projection false. */
    private static Path layout(Path from, Path to, boolean linear) throws Exception {
        if (linear) return from;
        Files.createDirectories(to);
        try (var src = SafeTensors.open(from.resolve("diffusion_pytorch_model.safetensors"))) {
            List<SafeTensors.Tensor> tensors = new ArrayList<>();
            for (String name : src.names()) {
                int[] shape = src.shape(name);
                if (name.matches(".*attentions\\.\\d+\\.proj_(in|out)\\.weight")) shape = new int[] {shape[0], shape[1], 1, 1};
                tensors.add(new SafeTensors.Tensor(name, DType.F32, shape, src.floats(name)));
            }
            SafeTensors.write(to.resolve("diffusion_pytorch_model.safetensors"), tensors, Map.of("format", "pt"));
        }
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(from.resolve("config.json").toFile());
        config.put("use_linear_projection", false);
        new ObjectMapper().writeValue(to.resolve("config.json").toFile(), config);
        return to;
    }

    /** The harness's inputs, drawn with the same bit-exact torch.randn. */
    private static Map<String, Object> controlNetInputs(float scale) {
        TorchGenerator gen = new TorchGenerator(21);
        FloatTensor sample = gen.randn(2, 4, 8, 8);
        FloatTensor context = gen.randn(2, 77, 16);
        FloatTensor cond = gen.randn(2, 3, 64, 64);
        float[] c = cond.data();
        for (int i = 0; i < c.length; i++) c[i] = Math.min(Math.max(c[i] * 0.25f + 0.5f, 0f), 1f);
        Map<String, Object> in = new LinkedHashMap<>();
        in.put(ControlNetNames.SAMPLE, sample);
        in.put(ControlNetNames.TIMESTEP, TIMESTEPS);
        in.put(ControlNetNames.ENCODER_HIDDEN_STATES, context);
        in.put(ControlNetNames.CONTROLNET_COND, cond);
        in.put(ControlNetNames.CONDITIONING_SCALE, new FloatTensor(new float[] {scale}, 1));
        return in;
    }

    private static Map<String, Object> unetInputs(Map<String, FloatTensor> residuals) {
        Map<String, Object> in = controlNetInputs(SCALE);
        in.remove(ControlNetNames.CONTROLNET_COND);
        in.remove(ControlNetNames.CONDITIONING_SCALE);
        in.putAll(residuals);
        return in;
    }

    private static FloatTensor reference(String name) throws Exception {
        try (InputStream s = ControlNetGraphTest.class.getResourceAsStream("/controlnet/" + name + ".npy")) {
            assertThat(s).as("test resource " + name).isNotNull();
            Path tmp = Files.createTempFile(dir, name, ".npy");
            Files.write(tmp, s.readAllBytes());
            return Npy.readFloats(tmp);
        }
    }

    private static Map<String, FloatTensor> referenceResiduals(String layout) throws Exception {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (String name : ControlNetNames.residuals(DOWN)) out.put(name, reference(layout + "_" + name));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"linear", "conv"})
    void controlNetMatchesDiffusers(String layout) throws Exception {
        Map<String, FloatTensor> out = OrtRunner.run(dir.resolve("onnx-cn-" + layout + "/model.onnx"), controlNetInputs(SCALE));
        assertThat(out.keySet()).containsExactlyElementsOf(ControlNetNames.residuals(DOWN));
        double worst = 0;
        for (var e : referenceResiduals(layout).entrySet()) {
            worst = Math.max(worst, assertClose(e.getKey(), out.get(e.getKey()), e.getValue(), 1e-4));
            assertThat(maxAbs(e.getValue())).as(e.getKey() + " is not trivially zero").isGreaterThan(0.01);
        }
        System.out.printf("ControlNet (%s) vs diffusers 0.24: max |diff| %.3g%n", layout, worst);
    }

    @ParameterizedTest
    @ValueSource(strings = {"linear", "conv"})
    void unetWithResidualsMatchesDiffusers(String layout) throws Exception {
        Path variant = dir.resolve("onnx-unet-control-" + layout + "/model.onnx");
        FloatTensor controlled = OrtRunner.run(variant, unetInputs(referenceResiduals(layout))).get("out_sample");
        FloatTensor plain = OrtRunner.run(dir.resolve("onnx-unet-" + layout + "/model.onnx"), unetInputs(Map.of())).get("out_sample");
        double dc = assertClose("controlled UNet", controlled, reference(layout + "_unet_controlled"), 1e-4);
        double dp = assertClose("plain UNet", plain, reference(layout + "_unet_plain"), 1e-4);
        // the residuals matter: the controlled output is far from the plain one
        assertThat(TensorAssert.maxAbsDiff(controlled.data(), plain.data())).isGreaterThan(0.1);
        System.out.printf("UNet (%s) with residuals vs diffusers 0.24: max |diff| %.3g (plain %.3g)%n", layout, dc, dp);
    }

    /** The whole chain: the ControlNet's outputs fed to the UNet variant give diffusers' controlled UNet output. */
    @Test
    void controlNetIntoUnetMatchesDiffusers() throws Exception {
        Map<String, FloatTensor> residuals = OrtRunner.run(dir.resolve("onnx-cn-linear/model.onnx"), controlNetInputs(SCALE));
        FloatTensor out = OrtRunner.run(dir.resolve("onnx-unet-control-linear/model.onnx"), unetInputs(residuals)).get("out_sample");
        assertClose("ControlNet -> UNet", out, reference("linear_unet_controlled"), 1e-4);
    }

    @Test
    void zeroResidualsGiveThePlainUnetBitForBit() throws Exception {
        Map<String, FloatTensor> zeros = new LinkedHashMap<>();
        referenceResiduals("linear").forEach((k, v) -> zeros.put(k, FloatTensor.zeros(v.shape())));
        FloatTensor controlled = OrtRunner.run(dir.resolve("onnx-unet-control-linear/model.onnx"), unetInputs(zeros)).get("out_sample");
        FloatTensor plain = OrtRunner.run(dir.resolve("onnx-unet-linear/model.onnx"), unetInputs(Map.of())).get("out_sample");
        float[] a = controlled.data();
        float[] b = plain.data();
        assertThat(a.length).isEqualTo(b.length);
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                throw new AssertionError("value " + i + ": " + a[i] + " with zero residuals, " + b[i] + " without");
            }
        }
    }

    /** float16 graphs: the residual inputs stay float32 and are cast inside, like the other inputs. */
    @Test
    void halfGraphsTakeFloat32ResidualsAndStayCloseToFloat32() throws Exception {
        Path cn = dir.resolve("onnx-cn-half");
        Path plain = dir.resolve("onnx-unet-half");
        try (var w = WeightFiles.openFolder(dir.resolve("cn"))) {
            OnnxWriter.write(ControlNetGraph.build(w, ControlNetConfig.read(dir.resolve("cn/config.json")), true), cn, null);
        }
        Path unet = dir.resolve("tiny/unet");
        try (var w = WeightFiles.openFolder(unet)) {
            OnnxWriter.write(UnetGraph.build(w, UnetConfig.read(unet.resolve("config.json")), true), plain, null);
        }
        Files.copy(unet.resolve("config.json"), plain.resolve("config.json"));
        Path variant = dir.resolve("onnx-unet-control-half");
        assertThat(UnetControlInputs.writeVariant(plain, variant)).isEqualTo(DOWN);

        Map<String, FloatTensor> residuals = OrtRunner.run(cn.resolve("model.onnx"), controlNetInputs(SCALE));
        for (var e : referenceResiduals("linear").entrySet()) assertClose(e.getKey(), residuals.get(e.getKey()), e.getValue(), 5e-2);
        FloatTensor out = OrtRunner.run(variant.resolve("model.onnx"), unetInputs(residuals)).get("out_sample");
        assertClose("half controlled UNet", out, reference("linear_unet_controlled"), 5e-2);
        Map<String, FloatTensor> zeros = new LinkedHashMap<>();
        residuals.forEach((k, v) -> zeros.put(k, FloatTensor.zeros(v.shape())));
        assertThat(OrtRunner.run(variant.resolve("model.onnx"), unetInputs(zeros)).get("out_sample").data())
                .containsExactly(OrtRunner.run(plain.resolve("model.onnx"), unetInputs(Map.of())).get("out_sample").data());
    }

    /**
     * The variant made from an Optimum (torch) export agrees with the one made from the project's
     * own conversion of the same diffusers weights, and with zero residuals equals its plain export
     * bit for bit: the skip connections are found in any UNet graph.
     */
    @Test
    void variantOfAnOptimumExportMatchesTheConvertedOne() throws Exception {
        Path exported = io.streamdiffusion4j.testing.Fixtures.onnxModel().resolve("unet");
        Path diffusers = io.streamdiffusion4j.testing.Fixtures.dir().resolve("models/tiny-sd-turbo/unet");
        Path fromExport = dir.resolve("fixture-export-control");
        assertThat(UnetControlInputs.writeVariant(exported, fromExport)).isEqualTo(DOWN);
        Path converted = dir.resolve("fixture-converted");
        UnetConfig config = UnetConfig.read(diffusers.resolve("config.json"));
        try (var w = WeightFiles.openFolder(diffusers)) {
            OnnxWriter.write(UnetGraph.build(w, config, false), converted, null);
        }
        Files.copy(diffusers.resolve("config.json"), converted.resolve("config.json"));
        Path fromConverted = dir.resolve("fixture-converted-control");
        UnetControlInputs.writeVariant(converted, fromConverted);

        TorchGenerator gen = new TorchGenerator(9);
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("sample", gen.randn(2, 4, 8, 8));
        in.put("timestep", new long[] {999, 259});
        in.put("encoder_hidden_states", gen.randn(2, 77, config.crossAttentionDim()));
        int[][] shapes = new ControlNetConfig(config, new int[] {16, 32, 96, 256}, 3, false).residualShapes(2, 8, 8);
        List<String> names = ControlNetNames.residuals(DOWN);
        Map<String, Object> zeros = new LinkedHashMap<>(in);
        for (int k = 0; k < names.size(); k++) {
            in.put(names.get(k), gen.randn(shapes[k]));
            zeros.put(names.get(k), FloatTensor.zeros(shapes[k]));
        }
        FloatTensor a = OrtRunner.run(fromExport.resolve("model.onnx"), in).get("out_sample");
        FloatTensor b = OrtRunner.run(fromConverted.resolve("model.onnx"), in).get("out_sample");
        double diff = assertClose("variant of the Optimum export vs of the conversion", a, b, 1e-4);
        Map<String, Object> plainIn = new LinkedHashMap<>(zeros);
        plainIn.keySet().removeAll(names);
        assertThat(OrtRunner.run(fromExport.resolve("model.onnx"), zeros).get("out_sample").data())
                .containsExactly(OrtRunner.run(exported.resolve("model.onnx"), plainIn).get("out_sample").data());
        assertThat(TensorAssert.maxAbsDiff(a.data(), OrtRunner.run(exported.resolve("model.onnx"), plainIn).get("out_sample").data()))
                .isGreaterThan(0.01);
        System.out.printf("UNet variant, Optimum export vs conversion: max |diff| %.3g%n", diff);
    }

    @Test
    void conditioningScaleScalesEveryResidualAndZeroDisables() throws Exception {
        Map<String, FloatTensor> one = OrtRunner.run(dir.resolve("onnx-cn-linear/model.onnx"), controlNetInputs(1f));
        Map<String, FloatTensor> half = OrtRunner.run(dir.resolve("onnx-cn-linear/model.onnx"), controlNetInputs(0.5f));
        Map<String, FloatTensor> off = OrtRunner.run(dir.resolve("onnx-cn-linear/model.onnx"), controlNetInputs(0f));
        for (String name : ControlNetNames.residuals(DOWN)) {
            float[] o = one.get(name).data();
            float[] h = half.get(name).data();
            float[] z = off.get(name).data();
            for (int i = 0; i < o.length; i++) {
                assertThat(h[i]).as(name).isEqualTo(o[i] * 0.5f);   // a power of two: exact
                assertThat(z[i]).as(name).isEqualTo(0f);
            }
        }
    }

    @Test
    void residualCountsAndShapesFollowTheConfig() throws Exception {
        ControlNetConfig c = ControlNetConfig.read(dir.resolve("cn/config.json"));
        assertThat(c.downResidualCount()).isEqualTo(DOWN);
        assertThat(c.imageScale()).isEqualTo(8);
        assertThat(c.downResidualChannels()).containsExactly(16, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32, 32);
        Map<String, FloatTensor> out = OrtRunner.run(dir.resolve("onnx-cn-linear/model.onnx"), controlNetInputs(1f));
        int[] sides = {8, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1};
        for (int k = 0; k < DOWN; k++) {
            int ch = c.downResidualChannels()[k];
            assertThat(out.get(ControlNetNames.downResidual(k)).shape()).containsExactly(2, ch, sides[k], sides[k]);
        }
        assertThat(out.get(ControlNetNames.MID_RESIDUAL).shape()).containsExactly(2, 32, 1, 1);
        int[][] shapes = c.residualShapes(2, 8, 8);
        List<String> names = ControlNetNames.residuals(DOWN);
        for (int k = 0; k < names.size(); k++) assertThat(out.get(names.get(k)).shape()).as(names.get(k)).isEqualTo(shapes[k]);
        // odd sides: the stride-2 convolutions round up
        Map<String, Object> odd = controlNetInputs(1f);
        TorchGenerator gen = new TorchGenerator(5);
        odd.put(ControlNetNames.SAMPLE, gen.randn(1, 4, 5, 3));
        odd.put(ControlNetNames.TIMESTEP, new long[] {500});
        odd.put(ControlNetNames.ENCODER_HIDDEN_STATES, gen.randn(1, 77, 16));
        odd.put(ControlNetNames.CONTROLNET_COND, gen.randn(1, 3, 40, 24));
        Map<String, FloatTensor> oddOut = OrtRunner.run(dir.resolve("onnx-cn-linear/model.onnx"), odd);
        int[][] oddShapes = c.residualShapes(1, 5, 3);
        for (int k = 0; k < names.size(); k++) assertThat(oddOut.get(names.get(k)).shape()).as(names.get(k)).isEqualTo(oddShapes[k]);
    }

    @Test
    void presetsMatchTheirModels() throws Exception {
        for (ControlNetPreset p : ControlNetPreset.values()) {
            ControlNetConfig c = ControlNetConfig.parse(p.config(), Path.of(p.key(), "config.json"));
            UnetConfig unet = UnetConfig.parse(p.model().architecture().unet(), Path.of("unet/config.json"));
            assertThat(c.unet().blockOutChannels()).isEqualTo(unet.blockOutChannels());
            assertThat(c.unet().crossAttentionDim()).isEqualTo(unet.crossAttentionDim());
            assertThat(c.unet().useLinearProjection()).isEqualTo(unet.useLinearProjection());
            assertThat(c.downResidualCount()).isEqualTo(UnetControlInputs.skipCount(unet)).isEqualTo(DOWN);
            assertThat(ControlNetPreset.find(p.key())).isSameAs(p);
        }
        // sum(p.numel()) of diffusers 0.24's ControlNetModel built with the same values (in the parity harness)
        assertThat(RandomModels.parameterCount(ControlNetPreset.SD15)).isEqualTo(361_279_120L);
        assertThat(RandomModels.parameterCount(ControlNetPreset.SD_TURBO)).isEqualTo(364_228_240L);
        assertThat(ControlNetPreset.find("tiny")).isNull();
        // each fits its own model, not another family's
        Path cnFile = Path.of("cn/config.json");
        Path unetFile = Path.of("unet/config.json");
        for (ControlNetPreset p : ControlNetPreset.values()) {
            ControlNetConfig c = ControlNetConfig.parse(p.config(), cnFile);
            c.requireFits(UnetConfig.parse(p.model().architecture().unet(), unetFile), cnFile, unetFile);
        }
        ControlNetConfig sd15 = ControlNetConfig.parse(ControlNetPreset.SD15.config(), cnFile);
        assertThatThrownBy(() -> sd15.requireFits(UnetConfig.parse(ModelPreset.SD_TURBO.architecture().unet(), unetFile), cnFile, unetFile))
                .isInstanceOf(InputFileException.class).hasMessageContaining("cross_attention_dim 768 vs 1024")
                .hasMessageContaining(cnFile.toString()).hasMessageContaining(unetFile.toString());
        assertThatThrownBy(() -> sd15.requireFits(UnetConfig.parse(ModelPreset.TINY.architecture().unet(), unetFile), cnFile, unetFile))
                .isInstanceOf(InputFileException.class).hasMessageContaining("cross_attention_dim");
    }

    @Test
    void badConfigsAndWeightsAreClearErrors() throws Exception {
        Path bad = dir.resolve("bad");
        copy(dir.resolve("cn"), bad);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(bad.resolve("config.json").toFile());

        config.put("_class_name", "UNet2DConditionModel");
        json.writeValue(bad.resolve("config.json").toFile(), config);
        assertThatThrownBy(() -> DiffusersConverter.convertControlNet(bad, dir.resolve("out1"), false, DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining(bad.toString()).hasMessageContaining("ControlNetModel");

        config.put("_class_name", "ControlNetModel");
        config.put("block_out_channels", "wide");
        json.writeValue(bad.resolve("config.json").toFile(), config);
        assertThatThrownBy(() -> ControlNetConfig.read(bad.resolve("config.json")))
                .isInstanceOf(InputFileException.class).hasMessageContaining(bad.resolve("config.json").toString())
                .hasMessageContaining("'block_out_channels'");

        config.putArray("block_out_channels").add(16).add(16).add(32).add(32);
        config.put("global_pool_conditions", true);
        json.writeValue(bad.resolve("config.json").toFile(), config);
        assertThatThrownBy(() -> ControlNetConfig.read(bad.resolve("config.json")))
                .isInstanceOf(InputFileException.class).hasMessageContaining("'global_pool_conditions'");

        // the weights of another size: the tensor, its shape and the config are named
        config.put("global_pool_conditions", false);
        config.putArray("conditioning_embedding_out_channels").add(8).add(8).add(16).add(32);
        json.writeValue(bad.resolve("config.json").toFile(), config);
        assertThatThrownBy(() -> DiffusersConverter.convertControlNet(bad, dir.resolve("out2"), false, DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class)
                .hasMessageContaining("diffusion_pytorch_model.safetensors")
                .hasMessageContaining("controlnet_cond_embedding.blocks.5.weight")
                .hasMessageContaining("[16, 16, 3, 3]").hasMessageContaining("[32, 16, 3, 3]")
                .hasMessageContaining(bad.resolve("config.json").toString());
        assertThat(dir.resolve("out2")).doesNotExist();
    }

    @Test
    void unetVariantRefusesGraphsItCannotRead() throws Exception {
        Path plain = dir.resolve("onnx-unet-linear/model.onnx");
        byte[] model = Files.readAllBytes(plain);
        assertThatThrownBy(() -> UnetControlInputs.add(model, 7, plain))
                .isInstanceOf(InputFileException.class).hasMessageContaining(plain.toString())
                .hasMessageContaining("found 12").hasMessageContaining("implies 7");
        byte[] variant = UnetControlInputs.add(model, 12, plain).model();
        assertThatThrownBy(() -> UnetControlInputs.add(variant, 12, plain)).hasMessageContaining("already has ControlNet inputs");
        byte[] cn = Files.readAllBytes(dir.resolve("onnx-cn-linear/model.onnx"));
        assertThatThrownBy(() -> UnetControlInputs.add(cn, -1, plain)).hasMessageContaining("found 0");
    }

    private static double maxAbs(FloatTensor t) {
        double m = 0;
        for (float v : t.data()) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static void copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
    }
}
