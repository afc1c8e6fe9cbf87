package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading models with ONNX Runtime: layouts, names, element types, external data, and the errors. */
class OnnxModelsTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private static OrtSession.SessionOptions options() throws Exception {
        return OnnxModelLoader.sessionOptions(OnnxModelLoader.Options.defaults());
    }

    private static FloatTensor ones(int... shape) {
        FloatTensor t = FloatTensor.zeros(shape);
        java.util.Arrays.fill(t.data(), 1f);
        return t;
    }

    @Test
    void loadsTheOptimumLayoutWithTaesd() throws Exception {
        try (StableDiffusionModels m = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(),
                OnnxModelLoader.Options.defaults())) {
            assertThat(m.textEncoder().hiddenSize()).isEqualTo(16);
            assertThat(m.unet().crossAttentionDim()).isEqualTo(16);
            assertThat(m.unet().latentChannels()).isEqualTo(4);
            assertThat(m.vae().scalingFactor()).isEqualTo(1.0f);
            assertThat(m.vae().encoder().encode(ones(1, 3, 64, 64)).isDeterministic()).isTrue();
        }
    }

    /**
     * The model's own AutoencoderKL encoder samples inside the graph; the loader exposes its mean
     * and standard deviation so the pipeline can sample with its seeded generator.
     */
    @Test
    void exposesTheMeanAndStdOfAnAutoencoderKlEncoder() throws Exception {
        try (StableDiffusionModels m = OnnxModelLoader.load(Fixtures.onnxModel(), null, OnnxModelLoader.Options.defaults())) {
            assertThat(m.vae().scalingFactor()).isEqualTo(0.18215f);
            FloatTensor image = new TorchGenerator(1).randn(1, 3, 64, 64);
            LatentDistribution a = m.vae().encoder().encode(image);
            LatentDistribution b = m.vae().encoder().encode(image);
            assertThat(a.isDeterministic()).isFalse();
            assertThat(a.mean().shape()).containsExactly(1, 4, 8, 8);
            assertThat(a.std().shape()).containsExactly(1, 4, 8, 8);
            assertThat(a.mean().data()).containsExactly(b.mean().data());
            for (float s : a.std().data()) assertThat(s).isPositive();
        }
    }

    @Test
    void rewrittenSamplingEncoderGivesMeanAndStd(@TempDir Path dir) throws Exception {
        Path file = SyntheticModels.samplingEncoder(dir.resolve("enc"));
        try (OrtSession.SessionOptions so = options(); OrtVaeEncoder enc = OrtVaeEncoder.open(ENV, file, so)) {
            FloatTensor x = new FloatTensor(new float[] {0f, 1f, -2f, 4f}, 1, 4, 1, 1);
            LatentDistribution d = enc.encode(x);
            assertThat(d.mean().data()).containsExactly(0f, 1f, -2f, 4f);
            assertThat((double) d.std().data()[3]).isCloseTo(Math.exp(1.0), within(1e-6));
        }
    }

    @Test
    void externalDataFloat16AndTensorRtNames(@TempDir Path dir) throws Exception {
        // StreamDiffusion's TensorRT export names: latent -> images; weights in model.onnx_data; float16 I/O
        Path file = SyntheticModels.scaleModel(dir.resolve("dec"), "latent", "images", 4, true, true);
        assertThat(dir.resolve("dec/model.onnx_data")).exists();
        try (OrtSession.SessionOptions so = options();
             OrtVaeDecoder dec = new OrtVaeDecoder(OnnxSession.open(ENV, file, so))) {
            FloatTensor out = dec.decode(new FloatTensor(new float[] {0.5f, 0.5f, 0.5f, 0.25f}, 1, 4, 1, 1));
            assertThat(out.data()).containsExactly(0.5f, 1f, 1.5f, 1f);
            assertThat(dec.fixedLatentChannels()).isEqualTo(4);
        }
    }

    @Test
    void wrongSignatureNamesTheFileAndWhatWasExpected(@TempDir Path dir) throws Exception {
        Path file = SyntheticModels.scaleModel(dir.resolve("unet"), "x", "y", 4, false, false);
        try (OrtSession.SessionOptions so = options()) {
            assertThatThrownBy(() -> new OrtUnet(OnnxSession.open(ENV, file, so), ComponentConfig.read(dir.resolve("unet"))))
                    .isInstanceOf(InvalidModelException.class)
                    .hasMessageContaining(file.toString())
                    .hasMessageContaining("expected an input named 'sample'")
                    .hasMessageContaining("found inputs [x FLOAT");
        }
        Path wrongRank = SyntheticModels.scaleModel(dir.resolve("dec"), "latent_sample", "sample", 4, false, false);
        try (OrtSession.SessionOptions so = options()) {
            // a decoder used as a text encoder: 'input_ids' is missing
            assertThatThrownBy(() -> new OrtTextEncoder(OnnxSession.open(ENV, wrongRank, so),
                    ComponentConfig.read(dir.resolve("dec")))).hasMessageContaining("'input_ids'");
        }
    }

    @Test
    void missingFilesAreListed(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("model/unet"));
        assertThatThrownBy(() -> OnnxModelLoader.load(dir.resolve("model"), null, OnnxModelLoader.Options.defaults()))
                .hasMessageContaining("not in the Optimum ONNX layout")
                .hasMessageContaining("tokenizer/vocab.json")
                .hasMessageContaining("unet/model.onnx")
                .hasMessageContaining("vae_decoder/model.onnx");
        assertThatThrownBy(() -> OnnxModelLoader.load(Fixtures.onnxModel(), dir.resolve("no-taesd"),
                OnnxModelLoader.Options.defaults())).hasMessageContaining("TAESD folder not found");
    }

    @Test
    void inconsistentPairsAreRejected(@TempDir Path dir) throws Exception {
        // a TAESD folder whose decoder takes 8 latent channels while the UNet makes 4
        SyntheticModels.scaleModel(dir.resolve("taesd/vae_decoder"), "latent_sample", "sample", 8, false, false);
        Files.createDirectories(dir.resolve("taesd/vae_encoder"));
        Files.createSymbolicLink(dir.resolve("taesd/vae_encoder/model.onnx"),
                Fixtures.taesd().resolve("vae_encoder/model.onnx").toAbsolutePath());
        assertThatThrownBy(() -> OnnxModelLoader.load(Fixtures.onnxModel(), dir.resolve("taesd"),
                OnnxModelLoader.Options.defaults()))
                .hasMessageContaining("gives 4 latent channels")
                .hasMessageContaining("takes 8");
    }
}
