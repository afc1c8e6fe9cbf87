package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.ControlNetNames;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.OrtRunner;
import io.streamdiffusion4j.testing.TensorAssert;
import io.streamdiffusion4j.weights.SafeTensors;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The UNet that takes both an IP-Adapter and ControlNet residuals: the adapter's UNet (decoupled
 * cross-attention, {@link UnetGraph} with {@link IpAdapterWeights}) given the residual inputs by
 * {@link UnetControlInputs}, as the pipeline makes it ({@code IpAdapterStore}, then
 * {@code ModelStore.unetWithControl} on the adapter's folder).
 *
 * <p>Checked against the diffusers references the two separate paths were checked with, where the
 * combined graph must agree with them: with zero residuals it is the adapter's UNet (diffusers'
 * IPAdapterAttnProcessor output in {@code src/test/resources/ip-adapter/}, see its README), and with
 * the adapter at scale 0 it is the UNet with ControlNet residuals (diffusers v0.24's
 * {@code down_block_additional_residuals} / {@code mid_block_additional_residual} output in
 * {@code src/test/resources/controlnet/}, see ControlNetGraphTest); in both cases it also equals
 * the separate graph's output. With both on, it matches diffusers v0.24's UNet with the adapter
 * loaded ({@code _load_ip_adapter_weights}) and the residuals passed
 * ({@code src/test/resources/controlnet-ip-adapter/README.md}), and differs from each alone.
 */
class ControlNetIpAdapterGraphTest {
    private static final double TOLERANCE = 1e-4;
    private static final int DOWN = 12;
    private static final int TOKENS = 4;
    private static final int DIM = 16;

    @TempDir
    static Path dir;

    @BeforeAll
    static void createModels() throws Exception {
        // the IP-Adapter references were made on tiny seed 0, the ControlNet ones on tiny seed 7
        RandomModels.create(ModelPreset.TINY, 0, dir.resolve("tiny0"), null);
        RandomModels.create(ModelPreset.TINY, 7, dir.resolve("tiny7"), null);
        RandomModels.create(IpAdapterPreset.TINY, 0, dir.resolve("adapter"), null);
        for (String seed : List.of("0", "7")) {
            Path model = dir.resolve("tiny" + seed);
            UnetConfig c = UnetConfig.read(model.resolve("unet/config.json"));
            try (SafeTensors w = SafeTensors.open(model.resolve("unet/diffusion_pytorch_model.safetensors"));
                 IpAdapterWeights ip = IpAdapterWeights.open(IpAdapterFolder.of(dir.resolve("adapter")).weights())) {
                write(UnetGraph.build(w, c, false), model.resolve("unet/config.json"), "plain" + seed);
                write(UnetGraph.build(w, c, false, ip), model.resolve("unet/config.json"), "ip" + seed);
            }
            assertThat(UnetControlInputs.writeVariant(dir.resolve("plain" + seed), dir.resolve("control" + seed))).isEqualTo(DOWN);
            assertThat(UnetControlInputs.writeVariant(dir.resolve("ip" + seed), dir.resolve("both" + seed))).isEqualTo(DOWN);
        }
    }

    private static void write(OnnxGraph g, Path config, String name) throws Exception {
        Path out = Files.createDirectories(dir.resolve(name));
        OnnxWriter.write(g, out, null);
        Files.copy(config, out.resolve("config.json"));
    }

    private static FloatTensor run(String graph, Map<String, Object> inputs) throws Exception {
        return OrtRunner.run(dir.resolve(graph).resolve("model.onnx"), inputs).get("out_sample");
    }

    private static FloatTensor reference(String name) throws Exception {
        try (InputStream s = ControlNetIpAdapterGraphTest.class.getResourceAsStream("/" + name + ".npy")) {
            assertThat(s).as("test resource " + name).isNotNull();
            Path tmp = Files.createTempFile(dir, "ref", ".npy");
            Files.write(tmp, s.readAllBytes());
            return Npy.readFloats(tmp);
        }
    }

    /** The ControlNet harness's residuals (tiny-controlnet seed 7 at conditioning_scale 0.75), or zeros of their shapes. */
    private static Map<String, FloatTensor> residuals(boolean zero) throws Exception {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (String name : ControlNetNames.residuals(DOWN)) {
            FloatTensor r = reference("controlnet/linear_" + name);
            out.put(name, zero ? FloatTensor.zeros(r.shape()) : r);
        }
        return out;
    }

    /** The adapter UNet's embeddings: per row the prompt's rows, the image tokens, and the scale row (scale, 0, ...). */
    private static FloatTensor extended(FloatTensor prompt, FloatTensor tokens, float scale) {
        int rows = prompt.dim(0);
        int length = prompt.dim(1);
        int ext = length + TOKENS + 1;
        float[] out = new float[rows * ext * DIM];
        for (int b = 0; b < rows; b++) {
            System.arraycopy(prompt.data(), b * length * DIM, out, b * ext * DIM, length * DIM);
            System.arraycopy(tokens.data(), b * TOKENS * DIM, out, (b * ext + length) * DIM, TOKENS * DIM);
            out[(b * ext + length + TOKENS) * DIM] = scale;
        }
        return new FloatTensor(out, rows, ext, DIM);
    }

    /** The IP-Adapter harness's UNet inputs (IpAdapterGraphTest's formula), with its image tokens at {@code scale}. */
    private static Map<String, Object> ipInputs(float scale) throws Exception {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("sample", IpAdapterGraphTest.formula(0.21, 0.1, 1, 2, 4, 8, 8));
        in.put("timestep", new long[] {999, 500});
        in.put("encoder_hidden_states", extended(IpAdapterGraphTest.formula(0.173, 0, 1, 2, 77, DIM),
                reference("ip-adapter/image_tokens"), scale));
        return in;
    }

    /** The ControlNet harness's UNet inputs (torch.manual_seed(21)), the prompt extended by image tokens at {@code scale} or not. */
    private static Map<String, Object> controlInputs(Float scale) throws Exception {
        TorchGenerator gen = new TorchGenerator(21);
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("sample", gen.randn(2, 4, 8, 8));
        in.put("timestep", new long[] {999, 259});
        FloatTensor prompt = gen.randn(2, 77, DIM);
        in.put("encoder_hidden_states", scale == null ? prompt : extended(prompt, reference("ip-adapter/image_tokens"), scale));
        return in;
    }

    private static Map<String, Object> with(Map<String, Object> in, Map<String, FloatTensor> residuals) {
        Map<String, Object> out = new LinkedHashMap<>(in);
        out.putAll(residuals);
        return out;
    }

    @Test
    void withZeroResidualsItIsTheAdaptersUnet() throws Exception {
        FloatTensor both = run("both0", with(ipInputs(0.8f), residuals(true)));
        double d = assertClose("IP-Adapter at 0.8, zero residuals", both, reference("ip-adapter/unet_ip_scale_0.8"), TOLERANCE);
        FloatTensor ip = run("ip0", ipInputs(0.8f));
        assertThat(TensorAssert.maxAbsDiff(both.data(), ip.data())).as("against the adapter's own UNet").isLessThanOrEqualTo(1e-5);
        System.out.printf("UNet with IP-Adapter and ControlNet inputs, residuals 0, vs diffusers: %.2e (vs adapter UNet %.2e)%n",
                d, TensorAssert.maxAbsDiff(both.data(), ip.data()));
    }

    @Test
    void withTheAdapterAtScaleZeroItIsTheControlledUnet() throws Exception {
        FloatTensor both = run("both7", with(controlInputs(0f), residuals(false)));
        double d = assertClose("ControlNet residuals, IP scale 0", both, reference("controlnet/linear_unet_controlled"), TOLERANCE);
        FloatTensor control = run("control7", with(controlInputs(null), residuals(false)));
        assertThat(TensorAssert.maxAbsDiff(both.data(), control.data())).as("against the ControlNet UNet").isLessThanOrEqualTo(1e-5);
        System.out.printf("UNet with IP-Adapter and ControlNet inputs, IP scale 0, vs diffusers: %.2e (vs ControlNet UNet %.2e)%n",
                d, TensorAssert.maxAbsDiff(both.data(), control.data()));
    }

    @Test
    void withBothOnItMatchesDiffusers() throws Exception {
        // diffusers v0.24's UNet2DConditionModel with _load_ip_adapter_weights at scale 0.8 and the residuals
        // (src/test/resources/controlnet-ip-adapter/README.md); the image tokens are the same harness's projection
        FloatTensor both = run("both7", with(controlInputs(0.8f), residuals(false)));
        double d = assertClose("IP-Adapter at 0.8 with ControlNet residuals", both,
                reference("controlnet-ip-adapter/unet_ip_scale_0.8_controlled"), TOLERANCE);
        System.out.printf("UNet with IP-Adapter at 0.8 and ControlNet residuals vs diffusers: %.2e%n", d);
    }

    @Test
    void withBothOnItDiffersFromEachAlone() throws Exception {
        FloatTensor both = run("both7", with(controlInputs(0.8f), residuals(false)));
        FloatTensor controlOnly = run("control7", with(controlInputs(null), residuals(false)));
        FloatTensor ipOnly = run("ip7", controlInputs(0.8f));
        // the adapter (seed 0, on the seed-7 UNet) moves the output by 7.3e-3 here, the residuals by far more:
        // both well beyond the tolerance the parity checks above use
        double adapterEffect = TensorAssert.maxAbsDiff(both.data(), controlOnly.data());
        double controlEffect = TensorAssert.maxAbsDiff(both.data(), ipOnly.data());
        assertThat(adapterEffect).as("the adapter's effect with residuals").isGreaterThan(10 * TOLERANCE);
        assertThat(controlEffect).as("the residuals' effect with the adapter").isGreaterThan(100 * TOLERANCE);
        System.out.printf("both on: adapter effect %.2e, residuals' effect %.2e%n", adapterEffect, controlEffect);
    }
}
