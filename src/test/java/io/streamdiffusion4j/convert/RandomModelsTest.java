package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.weights.OnnxInitializers;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.WeightFiles;
import io.streamdiffusion4j.weights.WeightSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RandomModelsTest {

    private static Map<String, List<Integer>> shapes(WeightSource w) throws Exception {
        Map<String, List<Integer>> m = new TreeMap<>();
        for (String n : w.names()) m.put(n, java.util.Arrays.stream(w.shape(n)).boxed().toList());
        return m;
    }

    private static Map<String, List<Integer>> shapes(List<SafeTensors.Spec> specs) {
        Map<String, List<Integer>> m = new TreeMap<>();
        for (var s : specs) m.put(s.name(), java.util.Arrays.stream(s.shape()).boxed().toList());
        return m;
    }

    /** The parameter lists match real diffusers / transformers checkpoints name for name, shape for shape. */
    @Test
    void weightSpecsMatchRealCheckpoints() throws Exception {
        Path f = Fixtures.dir().resolve("models/tiny-sd-turbo");
        try (var unet = WeightFiles.openFolder(f.resolve("unet"));
             var text = WeightFiles.openFolder(f.resolve("text_encoder"));
             var vae = WeightFiles.openFolder(f.resolve("vae"))) {
            assertThat(shapes(WeightSpecs.unet(UnetConfig.parse(ModelPreset.TINY.architecture().unet(), Path.of("unet")))))
                    .isEqualTo(shapes(unet));
            assertThat(shapes(WeightSpecs.clipText(49408, 77, 16, 64, 2))).isEqualTo(shapes(text));
            assertThat(shapes(WeightSpecs.autoencoderKl(new int[] {8, 16, 16, 16}, 2, 4))).isEqualTo(shapes(vae));
        }
        Path taesd = Fixtures.taesd();
        try (var enc = OnnxInitializers.read(taesd.resolve("vae_encoder/model.onnx"), "vae.");
             var dec = OnnxInitializers.read(taesd.resolve("vae_decoder/model.onnx"), "vae.")) {
            Map<String, List<Integer>> real = shapes(enc);
            real.putAll(shapes(dec));
            assertThat(shapes(WeightSpecs.taesd(64, new int[] {1, 3, 3, 3}, new int[] {3, 3, 3, 1}, 4))).isEqualTo(real);
        }
    }

    @Test
    void tinyModelIsDeterministicAndComplete(@TempDir Path dir) throws Exception {
        RandomModels.create(ModelPreset.TINY, 7, dir.resolve("a"), null);
        RandomModels.create(ModelPreset.TINY, 7, dir.resolve("b"), null);
        RandomModels.create(ModelPreset.TINY, 8, dir.resolve("c"), null);
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                "tokenizer/merges.txt", "text_encoder/config.json", "text_encoder/model.safetensors", "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                "taesd/config.json", "taesd/diffusion_pytorch_model.safetensors")) {
            assertThat(dir.resolve("a").resolve(f)).exists();
        }
        Path unet = Path.of("unet/diffusion_pytorch_model.safetensors");
        assertThat(Files.mismatch(dir.resolve("a").resolve(unet), dir.resolve("b").resolve(unet))).isEqualTo(-1);
        assertThat(Files.mismatch(dir.resolve("a").resolve(unet), dir.resolve("c").resolve(unet))).isNotEqualTo(-1);
        assertThat(RandomModels.parameterCount(ModelPreset.SD_TURBO)).as("sd-turbo: UNet 866M + text 340M + VAE 84M + TAESD")
                .isBetween(1_250_000_000L, 1_350_000_000L);
    }
}
