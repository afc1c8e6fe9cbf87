package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;

import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.OrtRunner;
import io.streamdiffusion4j.weights.OnnxInitializers;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TAESD graphs built in Java from the weights of the fixture's torch export give the same outputs. */
class TaesdGraphsTest {

    @Test
    void encoderMatchesTheTorchExport(@TempDir Path dir) throws Exception {
        Path reference = Fixtures.taesd().resolve("vae_encoder/model.onnx");
        TaesdConfig config = TaesdConfig.read(Fixtures.taesd().resolve("vae_encoder/config.json"));
        try (var weights = OnnxInitializers.read(reference, "vae.")) {
            OnnxWriter.write(TaesdGraphs.encoder(weights, config, false), dir, null);
        }
        FloatTensor x = new TorchGenerator(3).randn(2, 3, 64, 64);
        var ours = OrtRunner.run(dir.resolve("model.onnx"), Map.of("sample", x));
        var theirs = OrtRunner.run(reference, Map.of("sample", x));
        assertClose("latent_sample", ours.get("latent_sample"), theirs.get("latent_sample"), 1e-4);
    }

    @Test
    void decoderMatchesTheTorchExport(@TempDir Path dir) throws Exception {
        Path reference = Fixtures.taesd().resolve("vae_decoder/model.onnx");
        TaesdConfig config = TaesdConfig.read(Fixtures.taesd().resolve("vae_decoder/config.json"));
        try (var weights = OnnxInitializers.read(reference, "vae.")) {
            OnnxWriter.write(TaesdGraphs.decoder(weights, config, false), dir, null);
        }
        FloatTensor z = new TorchGenerator(4).randn(2, 4, 8, 8);
        var ours = OrtRunner.run(dir.resolve("model.onnx"), Map.of("latent_sample", z));
        var theirs = OrtRunner.run(reference, Map.of("latent_sample", z));
        assertClose("sample", ours.get("sample"), theirs.get("sample"), 1e-4);
    }
}
