package io.streamdiffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.WeightFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shared tiny fixture model written as an original Stable Diffusion (LDM) single-file
 * checkpoint, by an inverse mapping (diffusers to LDM) written here independently of
 * {@link LdmNames}, for the tests of single-file conversion here and through the Hub; and the
 * weight names of an SDXL-shaped UNet, for the tests of SDXL's original names.
 */
public final class OriginalCheckpoints {
    public static final Path TINY = Fixtures.dir().resolve("models/tiny-sd-turbo");
    static final List<String> GRAPHS = List.of("text_encoder", "unet", "vae_encoder", "vae_decoder");

    private OriginalCheckpoints() {}

    /** Writes the fixture model as an original SD checkpoint (plus the buffers such files carry). */
    public static Path writeLdmCheckpoint(Path file, DType dtype) throws IOException {
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

    /** The original name of a diffusers UNet weight, for a UNet of {@code layers} per block (uniform). */
    static String ldmUnet(String n, int layers, Set<Integer> upWithAttention) {
        int span = layers + 1;
        String[][] plain = {{"conv_in.", "input_blocks.0.0."}, {"time_embedding.linear_1.", "time_embed.0."},
                {"time_embedding.linear_2.", "time_embed.2."}, {"conv_norm_out.", "out.0."}, {"conv_out.", "out.2."},
                {"add_embedding.linear_1.", "label_emb.0.0."}, {"add_embedding.linear_2.", "label_emb.0.2."},
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

    static String ldmVae(String n, int blocks) {
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

    /**
     * Writes a diffusers SDXL folder (the tiny-sdxl preset: 2 resnets per block, 4 VAE blocks,
     * attention in up blocks 0 and 1) as an SGM single-file checkpoint, as Stability's
     * {@code sd_xl_turbo_1.0.safetensors} names it: the UNet and VAE as SD's, the CLIP ViT-L under
     * {@code conditioner.embedders.0.transformer.}, and the second text encoder as an OpenCLIP
     * text tower under {@code conditioner.embedders.1.model.}: q, k and v fused into
     * {@code attn.in_proj_weight/bias} (stacked in that order), {@code text_projection} stored
     * [width, projection] (the transpose of the Linear weight), plus the buffers and scalars such
     * files carry ({@code logit_scale}, {@code attn_mask}, DDPM schedule).
     */
    public static Path writeSgmCheckpoint(Path sdxl, Path file) throws IOException {
        List<SafeTensors.Tensor> tensors = new ArrayList<>();
        try (WeightFiles unet = WeightFiles.openFolder(sdxl.resolve("unet"));
             WeightFiles vae = WeightFiles.openFolder(sdxl.resolve("vae"));
             WeightFiles text = WeightFiles.openFolder(sdxl.resolve("text_encoder"));
             WeightFiles text2 = WeightFiles.openFolder(sdxl.resolve("text_encoder_2"))) {
            for (String n : unet.names()) {
                tensors.add(new SafeTensors.Tensor("model.diffusion_model." + ldmUnet(n, 2, Set.of(0, 1)), DType.F32,
                        unet.shape(n), unet.floats(n)));
            }
            for (String n : vae.names()) {
                int[] shape = vae.shape(n);
                if (n.matches(".*mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight")) {
                    shape = new int[] {shape[0], shape[1], 1, 1};
                }
                tensors.add(new SafeTensors.Tensor("first_stage_model." + ldmVae(n, 4), DType.F32, shape, vae.floats(n)));
            }
            for (String n : text.names()) {
                tensors.add(new SafeTensors.Tensor("conditioner.embedders.0.transformer." + n, DType.F32, text.shape(n),
                        text.floats(n)));
            }
            String open = "conditioner.embedders.1.model.";
            Pattern layer = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");
            for (String n : text2.names()) {
                Matcher m = layer.matcher(n);
                String rest = m.matches() ? m.group(2) : null;
                if (rest != null && rest.matches("self_attn\\.[kv]_proj\\..*")) continue;   // fused with q below
                if (rest != null && rest.startsWith("self_attn.q_proj.")) {
                    String param = rest.substring("self_attn.q_proj.".length());
                    String head = "text_model.encoder.layers." + m.group(1) + ".self_attn.";
                    float[] q = text2.floats(head + "q_proj." + param);
                    float[] k = text2.floats(head + "k_proj." + param);
                    float[] v = text2.floats(head + "v_proj." + param);
                    float[] fused = new float[q.length * 3];
                    System.arraycopy(q, 0, fused, 0, q.length);
                    System.arraycopy(k, 0, fused, q.length, q.length);
                    System.arraycopy(v, 0, fused, 2 * q.length, q.length);
                    int[] shape = text2.shape(head + "q_proj." + param).clone();
                    shape[0] *= 3;
                    tensors.add(new SafeTensors.Tensor(open + "transformer.resblocks." + m.group(1) + ".attn.in_proj_"
                            + param, DType.F32, shape, fused));
                    continue;
                }
                if (n.equals("text_projection.weight")) {
                    int[] s = text2.shape(n);   // [projection, width]
                    float[] w = text2.floats(n);
                    float[] t = new float[w.length];
                    for (int i = 0; i < s[0]; i++) for (int j = 0; j < s[1]; j++) t[j * s[0] + i] = w[i * s[1] + j];
                    tensors.add(new SafeTensors.Tensor(open + "text_projection", DType.F32, new int[] {s[1], s[0]}, t));
                    continue;
                }
                String name;
                if (rest != null) {
                    name = "transformer.resblocks." + m.group(1) + "." + rest.replace("layer_norm1.", "ln_1.")
                            .replace("layer_norm2.", "ln_2.").replace("self_attn.out_proj.", "attn.out_proj.")
                            .replace("mlp.fc1.", "mlp.c_fc.").replace("mlp.fc2.", "mlp.c_proj.");
                } else {
                    name = switch (n) {
                        case "text_model.embeddings.token_embedding.weight" -> "token_embedding.weight";
                        case "text_model.embeddings.position_embedding.weight" -> "positional_embedding";
                        case "text_model.final_layer_norm.weight" -> "ln_final.weight";
                        case "text_model.final_layer_norm.bias" -> "ln_final.bias";
                        default -> throw new IllegalStateException("unexpected text_encoder_2 weight " + n);
                    };
                }
                tensors.add(new SafeTensors.Tensor(open + name, DType.F32, text2.shape(n), text2.floats(n)));
            }
        }
        tensors.add(new SafeTensors.Tensor("conditioner.embedders.1.model.logit_scale", DType.F32, new int[] {},
                new float[] {4.6f}));
        tensors.add(new SafeTensors.Tensor("conditioner.embedders.1.model.attn_mask", DType.F32, new int[] {2, 2},
                new float[] {0, -1e9f, 0, 0}));
        tensors.add(new SafeTensors.Tensor("alphas_cumprod", DType.F32, new int[] {2}, new float[] {0.99f, 0.98f}));
        SafeTensors.write(file, tensors, Map.of("format", "pt"));
        return file;
    }

    /** The ONNX files of two converted models are byte for byte the same. */
    public static void assertSameGraphs(Path actual, Path expected) throws IOException {
        for (String g : GRAPHS) {
            for (String f : List.of("model.onnx", "model.onnx_data")) {
                assertThat(actual.resolve(g).resolve(f)).as(g + "/" + f).hasSameBinaryContentAs(expected.resolve(g).resolve(f));
            }
        }
    }

    /**
     * The weight names of a diffusers UNet2DConditionModel with SDXL's block structure, written
     * from diffusers' module tree: ResnetBlock2D (conv_shortcut where the channels change: the
     * first resnet of a wider down block, every up block resnet), Transformer2DModel with
     * BasicTransformerBlocks, Downsample2D / Upsample2D, TimestepEmbedding and the added embedding.
     */
    public static Set<String> sdxlUnetWeightNames() {
        int[] depth = {0, 2, 10};
        List<String> modules = new ArrayList<>(List.of("conv_in", "time_embedding.linear_1", "time_embedding.linear_2",
                "add_embedding.linear_1", "add_embedding.linear_2", "conv_norm_out", "conv_out"));
        for (int b = 0; b < 3; b++) {
            for (int k = 0; k < 2; k++) {
                resnet(modules, "down_blocks." + b + ".resnets." + k, b > 0 && k == 0);
                if (depth[b] > 0) transformer(modules, "down_blocks." + b + ".attentions." + k, depth[b]);
            }
            if (b < 2) modules.add("down_blocks." + b + ".downsamplers.0.conv");
        }
        resnet(modules, "mid_block.resnets.0", false);
        transformer(modules, "mid_block.attentions.0", 10);
        resnet(modules, "mid_block.resnets.1", false);
        for (int b = 0; b < 3; b++) {
            int d = depth[2 - b];
            for (int k = 0; k < 3; k++) {
                resnet(modules, "up_blocks." + b + ".resnets." + k, true);
                if (d > 0) transformer(modules, "up_blocks." + b + ".attentions." + k, d);
            }
            if (b < 2) modules.add("up_blocks." + b + ".upsamplers.0.conv");
        }
        Set<String> names = new LinkedHashSet<>();
        for (String m : modules) {
            names.add(m + ".weight");
            names.add(m + ".bias");
        }
        return names;
    }

    private static void resnet(List<String> out, String prefix, boolean shortcut) {
        for (String p : List.of("norm1", "conv1", "time_emb_proj", "norm2", "conv2")) out.add(prefix + "." + p);
        if (shortcut) out.add(prefix + ".conv_shortcut");
    }

    private static void transformer(List<String> out, String prefix, int depth) {
        out.add(prefix + ".norm");
        out.add(prefix + ".proj_in");
        out.add(prefix + ".proj_out");
        for (int t = 0; t < depth; t++) {
            String b = prefix + ".transformer_blocks." + t;
            for (String p : List.of("norm1", "norm2", "norm3", "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
                    "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2")) {
                out.add(b + "." + p);
            }
        }
    }
}
