package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.cli.Main;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.ReferenceRun;
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

    /**
     * Largest output difference observed over the four runs: 2.3e-5 (self with delta; the
     * others 1.4e-5 to 1.7e-5), the same as on the Optimum export; tolerance about four times that.
     */
    private static final double CONVERTED_OUTPUT_TOLERANCE = 1e-4;

    /** Converted once, then every public run (one per guidance path) on the converted model. */
    @Test
    void publicReferenceRunsPassOnTheConvertedModel(@TempDir Path dir) throws Exception {
        Path converted = dir.resolve("onnx");
        DiffusersConverter.convert(Fixtures.dir().resolve("models/tiny-sd-turbo"), converted,
                DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        for (String f : new String[] {"model_index.json", "tokenizer/vocab.json", "scheduler/scheduler_config.json",
                "text_encoder/model.onnx", "text_encoder/model.onnx_data", "unet/model.onnx", "unet/config.json",
                "vae_encoder/model.onnx", "vae_decoder/model.onnx", "streamdiffusion4j.json"}) {
            assertThat(converted.resolve(f)).exists();
        }
        for (String runName : ReferenceRun.PUBLIC) {
            ReferenceRun run = ReferenceRun.named(runName);
            Path out = dir.resolve("out-" + runName);
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "img2img",
                    "--model", converted.toString(), "--taesd", Fixtures.taesd().toString(),
                    "--config", run.configFile().toString(),
                    "--input", Fixtures.frames().toString(), "--output", out.toString(), "--save-npy");
            assertThat(code).as(err.toString()).isZero();
            double worst = 0;
            for (int i = 0; i < 8; i++) {
                FloatTensor actual = Npy.readFloats(out.resolve(String.format("%03d.npy", i)));
                worst = Math.max(worst, TensorAssert.assertClose(runName + " frame " + i, actual, run.outputFrame(i),
                        CONVERTED_OUTPUT_TOLERANCE));
            }
            System.out.printf("%s on the Java-converted model: largest difference %.3g%n", runName, worst);
        }
    }

    /** A kohya LoRA merged during conversion lands in the written ONNX weights as W + scale * alpha/rank * B A. */
    @Test
    void loraIsMergedIntoTheConvertedWeights(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        RandomModels.create(ModelPreset.TINY, 1, model, null);
        String module = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";
        int out = 16;
        int in = 16;
        int rank = 4;
        float alpha = 2f;
        float scale = 0.5f;
        float[] down = new io.streamdiffusion4j.random.TorchGenerator(11).randn(rank, in).data();
        float[] up = new io.streamdiffusion4j.random.TorchGenerator(12).randn(out, rank).data();
        String key = "lora_unet_" + module.replace('.', '_');
        Path lora = dir.resolve("lora.safetensors");
        io.streamdiffusion4j.weights.SafeTensors.write(lora, java.util.List.of(
                new io.streamdiffusion4j.weights.SafeTensors.Tensor(key + ".lora_down.weight",
                        io.streamdiffusion4j.weights.DType.F16, new int[] {rank, in}, down),
                new io.streamdiffusion4j.weights.SafeTensors.Tensor(key + ".lora_up.weight",
                        io.streamdiffusion4j.weights.DType.F16, new int[] {out, rank}, up),
                new io.streamdiffusion4j.weights.SafeTensors.Tensor(key + ".alpha",
                        io.streamdiffusion4j.weights.DType.F16, new int[] {}, new float[] {alpha})), java.util.Map.of());
        DiffusersConverter.convert(model, dir.resolve("onnx"), new DiffusersConverter.Options(false,
                java.util.List.of(new LoraMerge.LoraFile(lora, scale))), DiffusersConverter.Progress.NONE);

        float[] w;
        try (var base = io.streamdiffusion4j.weights.WeightFiles.openFolder(model.resolve("unet"))) {
            w = base.floats(module + ".weight");
        }
        float[] expected = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int r = 0; r < rank; r++) {
                    d += (double) Float.float16ToFloat(Float.floatToFloat16(up[o * rank + r]))
                            * Float.float16ToFloat(Float.floatToFloat16(down[r * in + i]));
                }
                expected[o * in + i] = (float) (w[o * in + i] + scale * (alpha / rank) * d);
            }
        }
        try (var written = io.streamdiffusion4j.weights.OnnxInitializers.read(dir.resolve("onnx/unet/model.onnx"), null)) {
            float[] transposed = written.floats(module + ".weight.T"); // stored [in, out] for MatMul
            float[] merged = new float[out * in];
            for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) merged[o * in + i] = transposed[i * out + o];
            TensorAssert.assertClose("merged " + module, merged, expected, 1e-5);
            float[] untouched = written.floats("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight.T");
            assertThat(untouched).hasSize(out * in);
        }
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
