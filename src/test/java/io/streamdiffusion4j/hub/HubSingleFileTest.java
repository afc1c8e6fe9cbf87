package io.streamdiffusion4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.WeightFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-file checkpoints: the fixture's diffusers weights are written under the original SD
 * (LDM) names by an independent inverse mapping written here, read back as a checkpoint, and
 * must give the very same diffusers weights and the very same ONNX files as the diffusers folder.
 */
class HubSingleFileTest {
    static final Path TINY = Fixtures.dir().resolve("models/tiny-sd-turbo");
    static final List<String> GRAPHS = List.of("text_encoder", "unet", "vae_encoder", "vae_decoder");

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

    /**
     * Through the model store: a checkpoint named by Hub id, its configuration fetched from the
     * SD 1.5 configuration repository (configs only), converted once; the same as the folder.
     */
    @Test
    void hubCheckpointThroughTheModelStore() throws Exception {
        Path ckpt = writeLdmCheckpoint(dir.resolve("tiny-ldm.safetensors"), DType.F32);
        try (FakeHub hub = new FakeHub()) {
            hub.addRepo(SingleFileCheckpoint.Base.SD1.configRepo(), TINY);   // configs and weights; only configs may travel
            hub.addRepo("fake/checkpoints", Map.of("tiny-ldm.safetensors", Files.readAllBytes(ckpt)), null);
            ModelStore store = new ModelStore(dir.resolve("cache"),
                    new HubSettings(hub.endpoint(), null, dir.resolve("hf-cache"), false));
            ModelStore.Resolved r = store.resolve("fake/checkpoints/tiny-ldm.safetensors", null,
                    DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
            assertThat(r.model()).startsWith(dir.resolve("cache/converted"));
            assertThat(hub.requests()).noneMatch(q -> q.path().startsWith("/stable-diffusion-v1-5")
                    && q.path().endsWith(".safetensors"));
            DiffusersConverter.convert(TINY, dir.resolve("onnx-folder"), DiffusersConverter.Options.defaults(),
                    DiffusersConverter.Progress.NONE);
            assertSameGraphs(r.model(), dir.resolve("onnx-folder"));
            assertThat(dir.resolve("cache/checkpoints")).isEmptyDirectory();   // the intermediate folder is gone

            hub.clearRequests();
            ModelStore.Resolved again = store.resolve("fake/checkpoints/tiny-ldm.safetensors", null,
                    DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
            assertThat(again.model()).isEqualTo(r.model());
            assertThat(hub.requests()).isEmpty();

            // a local checkpoint file works the same way
            ModelStore.Resolved local = store.resolve(ckpt.toString(), null, DiffusersConverter.Options.defaults(),
                    DiffusersConverter.Progress.NONE);
            assertSameGraphs(local.model(), dir.resolve("onnx-folder"));
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

    // ------------------------------------------------------------------------------------------
    // The inverse mapping, diffusers -> LDM, written independently of LdmNames.

    /** Writes the fixture model as an original SD checkpoint (plus the buffers such files carry). */
    static Path writeLdmCheckpoint(Path file, DType dtype) throws IOException {
        List<SafeTensors.Tensor> tensors = new ArrayList<>();
        int layers = 2;
        int vaeBlocks = 4;
        Set<Integer> upBlocksWithAttention = Set.of(1, 2, 3);
        try (WeightFiles unet = WeightFiles.openFolder(TINY.resolve("unet"));
             WeightFiles vae = WeightFiles.openFolder(TINY.resolve("vae"));
             WeightFiles text = WeightFiles.openFolder(TINY.resolve("text_encoder"))) {
            for (String n : unet.names()) {
                tensors.add(new SafeTensors.Tensor("model.diffusion_model." + ldmUnet(n, layers, upBlocksWithAttention),
                        dtype, unet.shape(n), unet.floats(n)));
            }
            for (String n : vae.names()) {
                int[] shape = vae.shape(n);
                if (n.matches(".*mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight")) {
                    shape = new int[] {shape[0], shape[1], 1, 1};   // LDM keeps these as 1x1 convolutions
                }
                tensors.add(new SafeTensors.Tensor("first_stage_model." + ldmVae(n, vaeBlocks), dtype, shape, vae.floats(n)));
            }
            for (String n : text.names()) {
                tensors.add(new SafeTensors.Tensor("cond_stage_model.transformer." + n, dtype, text.shape(n), text.floats(n)));
            }
        }
        tensors.add(new SafeTensors.Tensor("betas", DType.F32, new int[] {4}, new float[] {1, 2, 3, 4}));
        tensors.add(new SafeTensors.Tensor("model_ema.decay", DType.F32, new int[] {}, new float[] {0.9999f}));
        SafeTensors.write(file, tensors, Map.of("format", "pt"));
        return file;
    }

    private static String ldmUnet(String n, int layers, Set<Integer> upWithAttention) {
        int span = layers + 1;
        String[][] plain = {{"conv_in.", "input_blocks.0.0."}, {"time_embedding.linear_1.", "time_embed.0."},
                {"time_embedding.linear_2.", "time_embed.2."}, {"conv_norm_out.", "out.0."}, {"conv_out.", "out.2."},
                {"mid_block.resnets.0.", "middle_block.0."}, {"mid_block.attentions.0.", "middle_block.1."},
                {"mid_block.resnets.1.", "middle_block.2."}};
        for (String[] p : plain) {
            if (n.startsWith(p[0])) {
                String rest = n.substring(p[0].length());
                return p[1] + (p[1].startsWith("middle_block.1.") ? rest : resnetPart(rest));
            }
        }
        Matcher m = Pattern.compile("(down|up)_blocks\\.(\\d+)\\.(resnets|attentions|downsamplers|upsamplers)\\.(\\d+)\\.(.+)").matcher(n);
        if (!m.matches()) throw new IllegalStateException("unexpected UNet weight " + n);
        int b = Integer.parseInt(m.group(2));
        int k = Integer.parseInt(m.group(4));
        String rest = m.group(5);
        if (m.group(1).equals("down")) {
            return switch (m.group(3)) {
                case "resnets" -> "input_blocks." + (1 + b * span + k) + ".0." + resnetPart(rest);
                case "attentions" -> "input_blocks." + (1 + b * span + k) + ".1." + rest;
                default -> "input_blocks." + (1 + b * span + layers) + ".0.op." + rest.substring("conv.".length());
            };
        }
        return switch (m.group(3)) {
            case "resnets" -> "output_blocks." + (b * span + k) + ".0." + resnetPart(rest);
            case "attentions" -> "output_blocks." + (b * span + k) + ".1." + rest;
            default -> "output_blocks." + (b * span + layers) + "." + (upWithAttention.contains(b) ? 2 : 1) + "." + rest;
        };
    }

    private static String resnetPart(String rest) {
        return rest.replaceFirst("^norm1\\.", "in_layers.0.").replaceFirst("^conv1\\.", "in_layers.2.")
                .replaceFirst("^norm2\\.", "out_layers.0.").replaceFirst("^conv2\\.", "out_layers.3.")
                .replaceFirst("^time_emb_proj\\.", "emb_layers.1.").replaceFirst("^conv_shortcut\\.", "skip_connection.");
    }

    private static String ldmVae(String n, int blocks) {
        String s = n.replace("conv_norm_out.", "norm_out.");
        s = s.replaceAll("mid_block\\.resnets\\.0\\.", "mid.block_1.").replaceAll("mid_block\\.resnets\\.1\\.", "mid.block_2.");
        s = s.replace("mid_block.attentions.0.group_norm.", "mid.attn_1.norm.")
                .replace("mid_block.attentions.0.to_q.", "mid.attn_1.q.").replace("mid_block.attentions.0.to_k.", "mid.attn_1.k.")
                .replace("mid_block.attentions.0.to_v.", "mid.attn_1.v.")
                .replace("mid_block.attentions.0.to_out.0.", "mid.attn_1.proj_out.");
        Matcher m = Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.(resnets|downsamplers)\\.(\\d+)\\.(.+)").matcher(s);
        if (m.matches()) {
            return m.group(2).equals("resnets")
                    ? "encoder.down." + m.group(1) + ".block." + m.group(3) + "." + m.group(4).replace("conv_shortcut", "nin_shortcut")
                    : "encoder.down." + m.group(1) + ".downsample." + m.group(4);
        }
        m = Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.(resnets|upsamplers)\\.(\\d+)\\.(.+)").matcher(s);
        if (m.matches()) {
            int ldm = blocks - 1 - Integer.parseInt(m.group(1));
            return m.group(2).equals("resnets")
                    ? "decoder.up." + ldm + ".block." + m.group(3) + "." + m.group(4).replace("conv_shortcut", "nin_shortcut")
                    : "decoder.up." + ldm + ".upsample." + m.group(4);
        }
        return s.replace("conv_shortcut", "nin_shortcut");
    }

    // ------------------------------------------------------------------------------------------

    static void assertSameGraphs(Path actual, Path expected) throws IOException {
        for (String g : GRAPHS) {
            for (String f : List.of("model.onnx", "model.onnx_data")) {
                assertThat(actual.resolve(g).resolve(f)).as(g + "/" + f).hasSameBinaryContentAs(expected.resolve(g).resolve(f));
            }
        }
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
