package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.cli.Main;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.TensorAssert;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole chain without Python: the fixture's diffusers folder converted in Java, then the
 * public reference run of the original reproduced on the converted model.
 */
class ConvertedModelTest {

    @Test
    void publicReferenceRunPassesOnTheConvertedModel(@TempDir Path dir) throws Exception {
        Path converted = dir.resolve("onnx");
        DiffusersConverter.convert(Fixtures.dir().resolve("models/tiny-sd-turbo"), converted,
                DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        for (String f : new String[] {"model_index.json", "tokenizer/vocab.json", "scheduler/scheduler_config.json",
                "text_encoder/model.onnx", "text_encoder/model.onnx_data", "unet/model.onnx", "unet/config.json",
                "vae_encoder/model.onnx", "vae_decoder/model.onnx", "streamdiffusion4j.json"}) {
            assertThat(converted.resolve(f)).exists();
        }
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "img2img",
                "--model", converted.toString(), "--taesd", Fixtures.taesd().toString(),
                "--config", Fixtures.publicRun().resolve("config.json").toString(),
                "--input", Fixtures.frames().toString(), "--output", dir.resolve("out").toString(), "--save-npy");
        assertThat(code).as(err.toString()).isZero();
        double worst = 0;
        for (int i = 0; i < 8; i++) {
            String name = String.format("%03d.npy", i);
            FloatTensor actual = Npy.readFloats(dir.resolve("out").resolve(name));
            FloatTensor expected = Npy.readFloats(Fixtures.publicRun().resolve("frames").resolve(name));
            worst = Math.max(worst, TensorAssert.assertClose("frame " + i, actual, expected, 1e-3));
        }
        System.out.printf("public reference run on the Java-converted model: largest difference %.3g%n", worst);
    }

    @Test
    void diffusersFoldersAreConvertedOnceAndCached(@TempDir Path dir) throws Exception {
        ModelStore store = new ModelStore(dir.resolve("cache"));
        Path source = Fixtures.dir().resolve("models/tiny-sd-turbo");
        var first = store.resolve(source.toString(), Fixtures.taesd().toString(), DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        long written = Files.getLastModifiedTime(first.model().resolve("unet/model.onnx")).toMillis();
        var second = store.resolve(source.toString(), Fixtures.taesd().toString(), DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        assertThat(second.model()).isEqualTo(first.model());
        assertThat(Files.getLastModifiedTime(second.model().resolve("unet/model.onnx")).toMillis()).isEqualTo(written);
        assertThat(first.model().startsWith(dir.resolve("cache/converted"))).isTrue();
        assertThat(first.taesd()).isEqualTo(Fixtures.taesd());
    }
}
