package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.OrtRunner;
import io.streamdiffusion4j.testing.TensorAssert;
import io.streamdiffusion4j.weights.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AutoencoderKL graphs built in Java from the fixture's safetensors agree with the fixture's
 * Optimum export: the decoder directly, the encoder's posterior mean and std with those the loader
 * exposes from the export's sampling graph.
 */
class AutoencoderKlGraphsTest {
    /** Basic graph optimisation only: loading the whole fixture model (UNet included) stays quick. */
    private static final OnnxModelLoader.Options FAST =
            new OnnxModelLoader.Options(2, ai.onnxruntime.OrtSession.SessionOptions.OptLevel.BASIC_OPT);
    private static Path vaeFolder;
    private static Path weightsFile;
    private static AutoencoderKlConfig config;
    private static FloatTensor images;
    private static StableDiffusionModels reference;
    private static LatentDistribution referencePosterior;

    @BeforeAll
    static void setUp() throws Exception {
        vaeFolder = Fixtures.dir().resolve("models/tiny-sd-turbo/vae");
        weightsFile = vaeFolder.resolve("diffusion_pytorch_model.safetensors");
        config = AutoencoderKlConfig.read(vaeFolder.resolve("config.json"));
        images = clamp(new TorchGenerator(5).randn(2, 3, 64, 64));
        reference = OnnxModelLoader.load(Fixtures.onnxModel(), null, FAST);
        referencePosterior = reference.vae().encoder().encode(images);
    }

    @AfterAll
    static void tearDown() {
        if (reference != null) reference.close();
    }

    private static FloatTensor clamp(FloatTensor t) {
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) d[i] = Math.max(-1f, Math.min(1f, d[i] * 0.5f));
        return new FloatTensor(d, t.shape());
    }

    private static Path writeEncoder(Path weights, AutoencoderKlConfig c, boolean half, Path dir) throws Exception {
        try (var w = SafeTensors.open(weights)) {
            OnnxWriter.write(AutoencoderKlGraphs.encoder(w, c, half), dir, null);
        }
        return dir.resolve("model.onnx");
    }

    private static Path writeDecoder(Path weights, AutoencoderKlConfig c, boolean half, Path dir) throws Exception {
        try (var w = SafeTensors.open(weights)) {
            OnnxWriter.write(AutoencoderKlGraphs.decoder(w, c, half), dir, null);
        }
        return dir.resolve("model.onnx");
    }

    @Test
    void readsTheConfig() {
        assertThat(config.blockOutChannels()).containsExactly(8, 16, 16, 16);
        assertThat(config.layersPerBlock()).isEqualTo(2);
        assertThat(config.normNumGroups()).isEqualTo(4);
        assertThat(config.latentChannels()).isEqualTo(4);
        assertThat(config.scalingFactor()).isEqualTo(0.18215);
        assertThat(config.midBlockAddAttention()).isTrue();
    }

    @Test
    void decoderMatchesTheOptimumExport(@TempDir Path dir) throws Exception {
        Path ours = writeDecoder(weightsFile, config, false, dir);
        Path theirs = Fixtures.onnxModel().resolve("vae_decoder/model.onnx");
        for (int size : new int[] {8, 16}) {
            FloatTensor z = new TorchGenerator(size).randn(2, 4, size, size);
            var a = OrtRunner.run(ours, Map.of("latent_sample", z));
            var b = OrtRunner.run(theirs, Map.of("latent_sample", z));
            assertThat(a.get("sample").shape()).containsExactly(2, 3, size * 8, size * 8);
            double d = assertClose("sample " + size + "x" + size, a.get("sample"), b.get("sample"), 1e-4);
            System.out.printf("VAE decoder vs Optimum export at %dx%d: %.2e%n", size, size, d);
        }
    }

    @Test
    void encoderGivesThePosteriorOfTheOptimumExport(@TempDir Path dir) throws Exception {
        var out = OrtRunner.run(writeEncoder(weightsFile, config, false, dir), Map.of("sample", images));
        assertThat(out.get("latent_mean").shape()).containsExactly(2, 4, 8, 8);
        assertThat(referencePosterior.isDeterministic()).isFalse();
        double m = assertClose("latent_mean", out.get("latent_mean"), referencePosterior.mean(), 1e-4);
        double s = assertClose("latent_std", out.get("latent_std"), referencePosterior.std(), 1e-4);
        System.out.printf("VAE encoder vs Optimum export: mean %.2e, std %.2e%n", m, s);
    }

    @Test
    void theLoaderTakesTheWrittenEncoderAsAPosterior(@TempDir Path dir) throws Exception {
        // an Optimum-layout folder whose VAE is the one written here
        Path model = dir.resolve("model");
        for (String part : List.of("tokenizer", "scheduler", "text_encoder", "unet")) copyFolder(Fixtures.onnxModel().resolve(part), model.resolve(part));
        Files.copy(Fixtures.onnxModel().resolve("model_index.json"), model.resolve("model_index.json"));
        writeEncoder(weightsFile, config, false, model.resolve("vae_encoder"));
        writeDecoder(weightsFile, config, false, model.resolve("vae_decoder"));
        for (String part : List.of("vae_encoder", "vae_decoder")) Files.copy(vaeFolder.resolve("config.json"), model.resolve(part).resolve("config.json"));

        try (StableDiffusionModels ours = OnnxModelLoader.load(model, null, FAST)) {
            assertThat(ours.vae().latentChannels()).isEqualTo(4);
            assertThat(ours.vae().scalingFactor()).isEqualTo(0.18215f);
            LatentDistribution posterior = ours.vae().encoder().encode(images);
            assertThat(posterior.isDeterministic()).isFalse();
            assertClose("mean through the loader", posterior.mean(), referencePosterior.mean(), 1e-4);
            assertClose("std through the loader", posterior.std(), referencePosterior.std(), 1e-4);
            FloatTensor z = new TorchGenerator(9).randn(1, 4, 8, 8);
            assertClose("decoded through the loader", ours.vae().decoder().decode(z), reference.vae().decoder().decode(z), 1e-4);
        }
    }

    @Test
    void legacyAttentionNamesGiveTheSameGraphs(@TempDir Path dir) throws Exception {
        Path legacy = dir.resolve("legacy.safetensors");
        UnaryOperator<String> rename = n -> n.replace(".to_q.", ".query.").replace(".to_k.", ".key.")
                .replace(".to_v.", ".value.").replace(".to_out.0.", ".proj_attn.");
        ClipTextGraphTest.copyRenamed(weightsFile, legacy, rename, null);
        try (var w = SafeTensors.open(legacy)) {
            assertThat(w.names()).contains("encoder.mid_block.attentions.0.query.weight", "decoder.mid_block.attentions.0.proj_attn.bias")
                    .doesNotContain("encoder.mid_block.attentions.0.to_q.weight");
        }
        var encNew = OrtRunner.run(writeEncoder(weightsFile, config, false, dir.resolve("e1")), Map.of("sample", images));
        var encOld = OrtRunner.run(writeEncoder(legacy, config, false, dir.resolve("e2")), Map.of("sample", images));
        assertClose("latent_mean (legacy names)", encOld.get("latent_mean"), encNew.get("latent_mean"), 0);
        assertClose("latent_std (legacy names)", encOld.get("latent_std"), encNew.get("latent_std"), 0);
        FloatTensor z = new TorchGenerator(8).randn(2, 4, 8, 8);
        var decNew = OrtRunner.run(writeDecoder(weightsFile, config, false, dir.resolve("d1")), Map.of("latent_sample", z));
        var decOld = OrtRunner.run(writeDecoder(legacy, config, false, dir.resolve("d2")), Map.of("latent_sample", z));
        assertClose("sample (legacy names)", decOld.get("sample"), decNew.get("sample"), 0);
    }

    @Test
    void aMissingTensorIsNamedWithTheFile(@TempDir Path dir) throws Exception {
        Path broken = dir.resolve("broken.safetensors");
        String gone = "decoder.up_blocks.1.resnets.2.conv2.weight";
        ClipTextGraphTest.copyRenamed(weightsFile, broken, UnaryOperator.identity(), gone);
        try (var w = SafeTensors.open(broken)) {
            AutoencoderKlGraphs.encoder(w, config, false); // the encoder does not need it
            assertThatThrownBy(() -> AutoencoderKlGraphs.decoder(w, config, false))
                    .hasMessageContaining(broken.toString())
                    .hasMessageContaining(gone);
        }
    }

    @Test
    void configErrorsNameTheFileAndKey(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, "{\"block_out_channels\": [8, 16], \"norm_num_groups\": 4, \"down_block_types\": [\"DownEncoderBlock2D\"]}");
        assertThatThrownBy(() -> AutoencoderKlConfig.read(file)).hasMessageContaining(file.toString()).hasMessageContaining("down_block_types");
        Files.writeString(file, "{\"block_out_channels\": [8, 16], \"norm_num_groups\": 3}");
        assertThatThrownBy(() -> AutoencoderKlConfig.read(file)).hasMessageContaining(file.toString()).hasMessageContaining("norm_num_groups");
        Files.writeString(file, "{\"mid_block_add_attention\": \"yes\"}");
        assertThatThrownBy(() -> AutoencoderKlConfig.read(file)).hasMessageContaining(file.toString()).hasMessageContaining("mid_block_add_attention");
    }

    @Test
    void halfVariantRunsOnOnnxRuntime(@TempDir Path dir) throws Exception {
        var enc = OrtRunner.run(writeEncoder(weightsFile, config, true, dir.resolve("e")), Map.of("sample", images));
        FloatTensor z = new TorchGenerator(8).randn(2, 4, 8, 8);
        var dec = OrtRunner.run(writeDecoder(weightsFile, config, true, dir.resolve("d")), Map.of("latent_sample", z));
        var decRef = OrtRunner.run(Fixtures.onnxModel().resolve("vae_decoder/model.onnx"), Map.of("latent_sample", z));
        double m = TensorAssert.maxAbsDiff(enc.get("latent_mean").data(), referencePosterior.mean().data());
        double s = TensorAssert.maxAbsDiff(enc.get("latent_std").data(), referencePosterior.std().data());
        double d = TensorAssert.maxAbsDiff(dec.get("sample").data(), decRef.get("sample").data());
        System.out.printf("VAE float16 vs float32 export: mean %.2e, std %.2e, decoded %.2e%n", m, s, d);
        assertClose("latent_mean (float16)", enc.get("latent_mean"), referencePosterior.mean(), 5e-2);
        assertClose("latent_std (float16)", enc.get("latent_std"), referencePosterior.std(), 5e-2);
        assertClose("sample (float16)", dec.get("sample"), decRef.get("sample"), 5e-2);
    }

    private static void copyFolder(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
    }
}
