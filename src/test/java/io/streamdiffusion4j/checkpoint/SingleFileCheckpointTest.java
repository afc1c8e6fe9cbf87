package io.streamdiffusion4j.checkpoint;

import static io.streamdiffusion4j.checkpoint.OriginalCheckpoints.TINY;
import static io.streamdiffusion4j.checkpoint.OriginalCheckpoints.assertSameGraphs;
import static io.streamdiffusion4j.checkpoint.OriginalCheckpoints.writeLdmCheckpoint;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.WeightFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-file checkpoints: the fixture's diffusers weights are written under the original SD
 * (LDM) names by an independent inverse mapping ({@link OriginalCheckpoints}), read back as a checkpoint, and
 * must give the very same diffusers weights and the very same ONNX files as the diffusers folder.
 */
class SingleFileCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void checkpointGivesTheDiffusersWeightsAndTheSameOnnx() throws Exception {
        Path ckpt = writeLdmCheckpoint(dir.resolve("tiny-ldm.safetensors"), DType.F32);
        assertThat(SingleFileCheckpoint.detect(ckpt)).isEqualTo(SingleFileCheckpoint.Base.SD1);

        Path split = dir.resolve("split");
        SingleFileCheckpoint.toDiffusers(ckpt, TINY, split);
        for (String c : List.of("unet", "vae", "text_encoder")) {
            try (WeightFiles expected = WeightFiles.openFolder(TINY.resolve(c));
                 WeightFiles actual = WeightFiles.openFolder(split.resolve(c))) {
                assertThat(actual.names()).as(c).containsExactlyInAnyOrderElementsOf(expected.names());
                for (String n : expected.names()) {
                    assertThat(actual.shape(n)).as(n).isEqualTo(expected.shape(n));
                    assertThat(actual.floats(n)).as(n).isEqualTo(expected.floats(n));
                }
            }
        }
        assertThat(split.resolve("tokenizer/vocab.json")).hasSameBinaryContentAs(TINY.resolve("tokenizer/vocab.json"));
        assertThat(split.resolve("scheduler/scheduler_config.json")).exists();

        DiffusersConverter.convert(split, dir.resolve("onnx-single"), DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        DiffusersConverter.convert(TINY, dir.resolve("onnx-folder"), DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        assertSameGraphs(dir.resolve("onnx-single"), dir.resolve("onnx-folder"));
    }

    @Test
    void halfPrecisionCheckpointStaysHalf() throws Exception {
        Path ckpt = writeLdmCheckpoint(dir.resolve("tiny-f16.safetensors"), DType.F16);
        SingleFileCheckpoint.toDiffusers(ckpt, TINY, dir.resolve("split"));
        try (SafeTensors unet = SafeTensors.open(dir.resolve("split/unet/diffusion_pytorch_model.safetensors"))) {
            assertThat(unet.entry("conv_in.weight").dtype()).isEqualTo(DType.F16);
        }
    }

    @Test
    void unsupportedAndWrongFilesAreNamed() throws Exception {
        Path sd2 = dir.resolve("sd2.safetensors");
        write(sd2, Map.of("model.diffusion_model.input_blocks.0.0.weight", new int[] {4},
                "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", new int[] {3, 1},
                "first_stage_model.encoder.conv_in.weight", new int[] {2}));
        assertThatThrownBy(() -> SingleFileCheckpoint.detect(sd2)).hasMessageContaining("2.x")
                .hasMessageContaining("not supported yet").hasMessageContaining("diffusers repository");

        Path lora = dir.resolve("lora.safetensors");
        write(lora, Map.of("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", new int[] {2, 2}));
        assertThatThrownBy(() -> SingleFileCheckpoint.detect(lora)).hasMessageContaining("is a LoRA")
                .hasMessageContaining("--lora");

        Path noVae = dir.resolve("novae.safetensors");
        write(noVae, Map.of("model.diffusion_model.input_blocks.0.0.weight", new int[] {4},
                "cond_stage_model.transformer.text_model.final_layer_norm.weight", new int[] {4}));
        assertThatThrownBy(() -> SingleFileCheckpoint.detect(noVae)).hasMessageContaining("no VAE weights");

        // SD 1.x names, but another size than the configuration: refused before anything is written
        Path ckpt = writeLdmCheckpoint(dir.resolve("tiny-ldm.safetensors"), DType.F32);
        Path otherConfig = dir.resolve("other-config");
        copyConfigs(TINY, otherConfig);
        Files.writeString(otherConfig.resolve("text_encoder/config.json"),
                Files.readString(otherConfig.resolve("text_encoder/config.json")).replace("\"hidden_size\": 16", "\"hidden_size\": 768"));
        assertThatThrownBy(() -> SingleFileCheckpoint.toDiffusers(ckpt, otherConfig, dir.resolve("out")))
                .hasMessageContaining("does not fit the configuration").hasMessageContaining("text encoder width is 16");
        assertThat(dir.resolve("out")).doesNotExist();
    }

    /** A UNet tensor the configuration's block layout does not have is named, before anything is written. */
    @Test
    void tensorsOutsideTheLayoutAreNamed() throws Exception {
        Path ckpt = writeLdmCheckpoint(dir.resolve("tiny-ldm.safetensors"), DType.F32);
        List<SafeTensors.Tensor> tensors = new ArrayList<>();
        try (SafeTensors st = SafeTensors.open(ckpt)) {
            for (String n : st.names()) tensors.add(new SafeTensors.Tensor(n, DType.F32, st.shape(n), st.floats(n)));
        }
        // the fixture's last level (input blocks 10-11) has no attention
        String extra = "model.diffusion_model.input_blocks.10.1.proj_in.weight";
        tensors.add(new SafeTensors.Tensor(extra, DType.F32, new int[] {2, 2}, new float[4]));
        Path bad = dir.resolve("extra.safetensors");
        SafeTensors.write(bad, tensors, Map.of());
        assertThatThrownBy(() -> SingleFileCheckpoint.toDiffusers(bad, TINY, dir.resolve("out")))
                .hasMessageContaining("1 tensors do not fit the Stable Diffusion 1.x layout")
                .hasMessageContaining("transformer depth per down block [1, 1, 1, 0]").hasMessageContaining(extra);
        assertThat(dir.resolve("out")).doesNotExist();
    }

    private static void write(Path file, Map<String, int[]> shapes) throws IOException {
        List<SafeTensors.Tensor> t = new ArrayList<>();
        for (var e : new TreeMap<>(shapes).entrySet()) {
            int n = 1;
            for (int d : e.getValue()) n *= d;
            t.add(new SafeTensors.Tensor(e.getKey(), DType.F32, e.getValue(), new float[n]));
        }
        SafeTensors.write(file, t, Map.of());
    }

    private static void copyConfigs(Path from, Path to) throws IOException {
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                "unet/config.json", "vae/config.json", "tokenizer/vocab.json", "tokenizer/merges.txt")) {
            Files.createDirectories(to.resolve(f).getParent());
            Files.copy(from.resolve(f), to.resolve(f));
        }
    }
}
