package io.streamdiffusion4j.checkpoint;

import static io.streamdiffusion4j.checkpoint.OriginalCheckpoints.writeSgmCheckpoint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.weights.WeightFiles;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SDXL single-file checkpoints (Stability's SGM layout): the tiny-sdxl preset's diffusers weights
 * written under the SGM names by an independent inverse mapping
 * ({@link OriginalCheckpoints#writeSgmCheckpoint}: q/k/v fused into in_proj, text_projection
 * transposed), read back with the preset's own folder as the configuration, must give the very
 * same diffusers weights, the very same ONNX files, and a model that runs img2img.
 */
class SdxlSingleFileTest {
    @TempDir
    static Path dir;
    private static Path sdxl;
    private static Path ckpt;

    @BeforeAll
    static void create() throws Exception {
        sdxl = dir.resolve("tiny-sdxl");
        RandomModels.create(ModelPreset.TINY_SDXL, 5, sdxl, null);
        ckpt = writeSgmCheckpoint(sdxl, dir.resolve("tiny-sgm.safetensors"));
    }

    @Test
    void sgmCheckpointGivesTheDiffusersWeightsTheSameOnnxAndRuns() throws Exception {
        assertThat(SingleFileCheckpoint.detect(ckpt)).isEqualTo(SingleFileCheckpoint.Base.SDXL);
        assertThat(SingleFileCheckpoint.Base.SDXL.configRepo()).isEqualTo("stabilityai/sdxl-turbo");

        Path split = dir.resolve("split");
        SingleFileCheckpoint.toDiffusers(ckpt, sdxl, split);
        for (String c : List.of("unet", "vae", "text_encoder", "text_encoder_2")) {
            try (WeightFiles expected = WeightFiles.openFolder(sdxl.resolve(c));
                 WeightFiles actual = WeightFiles.openFolder(split.resolve(c))) {
                assertThat(actual.names()).as(c).containsExactlyInAnyOrderElementsOf(expected.names());
                for (String n : expected.names()) {
                    assertThat(actual.shape(n)).as(n).isEqualTo(expected.shape(n));
                    assertThat(actual.floats(n)).as(n).isEqualTo(expected.floats(n));
                }
            }
        }
        for (String f : List.of("tokenizer/vocab.json", "tokenizer_2/vocab.json", "tokenizer_2/special_tokens_map.json",
                "text_encoder_2/config.json", "vae/config.json")) {
            if (Files.exists(sdxl.resolve(f))) assertThat(split.resolve(f)).as(f).hasSameBinaryContentAs(sdxl.resolve(f));
        }
        assertThat(Files.readString(split.resolve("vae/config.json"))).contains("0.13025");

        Path single = dir.resolve("onnx-single");
        Path folder = dir.resolve("onnx-folder");
        DiffusersConverter.convert(split, single, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        DiffusersConverter.convert(sdxl, folder, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        for (String g : List.of("text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder")) {
            for (String f : List.of("model.onnx", "model.onnx_data")) {
                assertThat(single.resolve(g).resolve(f)).as(g + "/" + f).hasSameBinaryContentAs(folder.resolve(g).resolve(f));
            }
        }

        // the single-file model runs img2img (with the folder's TAESD: a single file carries none)
        FloatTensor frame = FloatTensor.zeros(1, 3, 64, 64);
        try (StableDiffusionModels m = OnnxModelLoader.load(single, folder.resolve("taesd"), OnnxModelLoader.Options.defaults());
             StreamDiffusion s = StreamDiffusion.builder().models(m).tIndexList(32, 45).size(64, 64).seed(2).build()) {
            s.prepare("a fox in the snow", "", 50, 1.0, 1.0);
            FloatTensor out = s.img2img(frame);
            assertThat(out.shape()).containsExactly(1, 3, 64, 64);
            for (float v : out.data()) assertThat(Float.isFinite(v)).isTrue();
        }
    }

    /** A projection narrower than the width (bigG's is square, 1280): the transpose keeps every value in its place. */
    @Test
    void nonSquareTextProjectionIsTransposed() throws Exception {
        Path narrow = dir.resolve("narrow");
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "unet/config.json", "vae/config.json",
                "text_encoder/config.json", "text_encoder_2/config.json", "unet/diffusion_pytorch_model.safetensors",
                "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors")) {
            Files.createDirectories(narrow.resolve(f).getParent());
            Files.copy(sdxl.resolve(f), narrow.resolve(f));
        }
        for (String t : List.of("tokenizer", "tokenizer_2")) {
            Files.createDirectories(narrow.resolve(t));
            try (var files = Files.list(sdxl.resolve(t))) {
                for (Path p : files.toList()) Files.copy(p, narrow.resolve(t).resolve(p.getFileName()));
            }
        }
        Path config2 = narrow.resolve("text_encoder_2/config.json");
        Files.writeString(config2, Files.readString(config2).replace("\"projection_dim\" : 32", "\"projection_dim\" : 24"));
        assertThat(Files.readString(config2)).contains("\"projection_dim\" : 24");
        List<SafeTensors.Tensor> tensors = new ArrayList<>();
        try (WeightFiles w = WeightFiles.openFolder(sdxl.resolve("text_encoder_2"))) {
            for (String n : w.names()) {
                if (!n.equals("text_projection.weight")) {
                    tensors.add(new SafeTensors.Tensor(n, DType.F32, w.shape(n), w.floats(n)));
                }
            }
        }
        float[] projection = new float[24 * 32];
        for (int i = 0; i < projection.length; i++) projection[i] = i * 0.001f - 0.3f;
        tensors.add(new SafeTensors.Tensor("text_projection.weight", DType.F32, new int[] {24, 32}, projection));
        SafeTensors.write(narrow.resolve("text_encoder_2/model.safetensors"), tensors, Map.of());

        Path narrowCkpt = writeSgmCheckpoint(narrow, dir.resolve("narrow.safetensors"));
        try (SafeTensors st = SafeTensors.open(narrowCkpt)) {
            assertThat(st.shape("conditioner.embedders.1.model.text_projection")).containsExactly(32, 24);
        }
        Path split = dir.resolve("narrow-split");
        SingleFileCheckpoint.toDiffusers(narrowCkpt, narrow, split);
        try (WeightFiles actual = WeightFiles.openFolder(split.resolve("text_encoder_2"))) {
            assertThat(actual.shape("text_projection.weight")).containsExactly(24, 32);
            assertThat(actual.floats("text_projection.weight")).isEqualTo(projection);
        }
    }

    @Test
    void sgmCheckpointAgainstAnSd1ConfigurationIsRefused() throws Exception {
        assertThatThrownBy(() -> SingleFileCheckpoint.toDiffusers(ckpt, OriginalCheckpoints.TINY, dir.resolve("out")))
                .hasMessageContaining("Stable Diffusion XL checkpoint").hasMessageContaining("is not SDXL's");
        assertThat(dir.resolve("out")).doesNotExist();
    }
}
