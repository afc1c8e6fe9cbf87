package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors.Spec;
import java.util.ArrayList;
import java.util.List;

/**
 * The parameter names and shapes of each component for a configuration, in diffusers /
 * transformers naming: what {@code model.state_dict()} holds. Used to create random-weight
 * models, and to check a model's weights against its config before converting it
 * ({@link WeightShapes}); the graph builders read the same names.
 */
public final class WeightSpecs {
    private final List<Spec> specs = new ArrayList<>();

    private WeightSpecs() {}

    private void add(String name, int... shape) {
        specs.add(new Spec(name, DType.F32, shape));
    }

    private void linear(String p, int out, int in, boolean bias) {
        add(p + ".weight", out, in);
        if (bias) add(p + ".bias", out);
    }

    private void conv(String p, int out, int in, int k, boolean bias) {
        add(p + ".weight", out, in, k, k);
        if (bias) add(p + ".bias", out);
    }

    private void norm(String p, int c) {
        add(p + ".weight", c);
        add(p + ".bias", c);
    }

    // ---- UNet2DConditionModel ------------------------------------------------------------

    /** The parameters a diffusers UNet with this config.json has. */
    public static List<Spec> unet(UnetConfig c) {
        List<Spec> specs = unet(new UnetShape(c.inChannels(), c.outChannels(), c.blockOutChannels(), c.layersPerBlock(),
                c.transformerLayersPerBlock(), c.downBlockTypes(), c.upBlockTypes(), c.midBlockType() != null,
                c.crossAttentionDim(), c.useLinearProjection(), c.timeEmbeddingDim(), c.convInKernel(), c.convOutKernel()));
        if (c.addedEmbedding() == null) return specs;
        // SDXL: add_embedding sits after time_embedding in diffusers' state_dict (conv_in, time_embedding: 6 tensors)
        List<Spec> withAdded = new ArrayList<>(specs.subList(0, 6));
        withAdded.addAll(c.addedEmbedding().specs(c.timeEmbeddingDim()));
        withAdded.addAll(specs.subList(6, specs.size()));
        return withAdded;
    }

    /** What the UNet's parameter shapes depend on; per-block lists are in down-block order. */
    private record UnetShape(int inChannels, int outChannels, int[] channels, int[] layersPerBlock, int[] transformerLayers,
                             String[] downBlockTypes, String[] upBlockTypes, boolean midBlock, int crossAttentionDim,
                             boolean linearProjection, int timeEmbeddingDim, int convInKernel, int convOutKernel) {}

    private static List<Spec> unet(UnetShape c) {
        WeightSpecs w = new WeightSpecs();
        int[] ch = c.channels();
        int temb = c.timeEmbeddingDim();
        w.conv("conv_in", ch[0], c.inChannels(), c.convInKernel(), true);
        w.linear("time_embedding.linear_1", temb, ch[0], true);
        w.linear("time_embedding.linear_2", temb, temb, true);
        int n = ch.length;
        int out = ch[0];
        for (int i = 0; i < n; i++) {
            int in = out;
            out = ch[i];
            String p = "down_blocks." + i;
            boolean cross = c.downBlockTypes()[i].startsWith("CrossAttn");
            for (int j = 0; j < c.layersPerBlock()[i]; j++) {
                w.resnet(p + ".resnets." + j, j == 0 ? in : out, out, temb);
                if (cross) w.transformer(p + ".attentions." + j, out, c.transformerLayers()[i], c);
            }
            if (i < n - 1) w.conv(p + ".downsamplers.0.conv", out, out, 3, true);
        }
        int mid = ch[n - 1];
        if (c.midBlock()) {
            w.resnet("mid_block.resnets.0", mid, mid, temb);
            w.transformer("mid_block.attentions.0", mid, c.transformerLayers()[n - 1], c);
            w.resnet("mid_block.resnets.1", mid, mid, temb);
        }
        int prevOut = ch[n - 1];
        for (int i = 0; i < n; i++) {
            int outCh = ch[n - 1 - i];
            int inCh = ch[Math.max(n - 2 - i, 0)];
            String p = "up_blocks." + i;
            boolean cross = c.upBlockTypes()[i].startsWith("CrossAttn");
            int layers = c.layersPerBlock()[n - 1 - i] + 1;
            for (int j = 0; j < layers; j++) {
                int skip = j == layers - 1 ? inCh : outCh;
                int resIn = j == 0 ? prevOut : outCh;
                w.resnet(p + ".resnets." + j, resIn + skip, outCh, temb);
                if (cross) w.transformer(p + ".attentions." + j, outCh, c.transformerLayers()[n - 1 - i], c);
            }
            if (i < n - 1) w.conv(p + ".upsamplers.0.conv", outCh, outCh, 3, true);
            prevOut = outCh;
        }
        w.norm("conv_norm_out", ch[0]);
        w.conv("conv_out", c.outChannels(), ch[0], c.convOutKernel(), true);
        return w.specs;
    }

    // ---- ControlNetModel ------------------------------------------------------------------

    /**
     * The parameters of a diffusers ControlNetModel: the UNet's time embedding, conv_in, down
     * blocks and mid block (same names), the conditioning embedding, and one 1x1 zero conv per
     * down residual ({@code controlnet_down_blocks.i}) and for the mid block.
     */
    public static List<Spec> controlNet(ControlNetConfig c) {
        WeightSpecs w = new WeightSpecs();
        for (Spec s : unet(c.unet())) {
            String n = s.name();
            if (!n.startsWith("up_blocks.") && !n.startsWith("conv_norm_out.") && !n.startsWith("conv_out.")) w.specs.add(s);
        }
        int[] e = c.conditioningEmbeddingOutChannels();
        String p = "controlnet_cond_embedding";
        w.conv(p + ".conv_in", e[0], c.conditioningChannels(), 3, true);
        for (int i = 0; i < e.length - 1; i++) {
            w.conv(p + ".blocks." + (2 * i), e[i], e[i], 3, true);
            w.conv(p + ".blocks." + (2 * i + 1), e[i + 1], e[i], 3, true);
        }
        int[] ch = c.unet().blockOutChannels();
        w.conv(p + ".conv_out", ch[0], e[e.length - 1], 3, true);
        int[] residuals = c.downResidualChannels();
        for (int i = 0; i < residuals.length; i++) w.conv("controlnet_down_blocks." + i, residuals[i], residuals[i], 1, true);
        w.conv("controlnet_mid_block", ch[ch.length - 1], ch[ch.length - 1], 1, true);
        return w.specs;
    }

    private void resnet(String p, int in, int out, int temb) {
        norm(p + ".norm1", in);
        conv(p + ".conv1", out, in, 3, true);
        if (temb > 0) linear(p + ".time_emb_proj", out, temb, true);
        norm(p + ".norm2", out);
        conv(p + ".conv2", out, out, 3, true);
        if (in != out) conv(p + ".conv_shortcut", out, in, 1, true);
    }

    private void transformer(String p, int channels, int blocks, UnetShape c) {
        int inner = channels;
        norm(p + ".norm", channels);
        if (c.linearProjection()) linear(p + ".proj_in", inner, channels, true);
        else conv(p + ".proj_in", inner, channels, 1, true);
        for (int t = 0; t < blocks; t++) {
            String b = p + ".transformer_blocks." + t;
            norm(b + ".norm1", inner);
            linear(b + ".attn1.to_q", inner, inner, false);
            linear(b + ".attn1.to_k", inner, inner, false);
            linear(b + ".attn1.to_v", inner, inner, false);
            linear(b + ".attn1.to_out.0", inner, inner, true);
            norm(b + ".norm2", inner);
            linear(b + ".attn2.to_q", inner, inner, false);
            linear(b + ".attn2.to_k", inner, c.crossAttentionDim(), false);
            linear(b + ".attn2.to_v", inner, c.crossAttentionDim(), false);
            linear(b + ".attn2.to_out.0", inner, inner, true);
            norm(b + ".norm3", inner);
            linear(b + ".ff.net.0.proj", inner * 8, inner, true);
            linear(b + ".ff.net.2", inner, inner * 4, true);
        }
        if (c.linearProjection()) linear(p + ".proj_out", channels, inner, true);
        else conv(p + ".proj_out", channels, inner, 1, true);
    }

    // ---- CLIPTextModel --------------------------------------------------------------------

    /** The parameters of a transformers CLIPTextModel with this config.json. */
    public static List<Spec> clipText(ClipTextConfig c) {
        return clipText(c.vocabSize(), c.maxPositionEmbeddings(), c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers());
    }

    public static List<Spec> clipText(int vocab, int positions, int hidden, int intermediate, int layers) {
        WeightSpecs w = new WeightSpecs();
        w.add("text_model.embeddings.token_embedding.weight", vocab, hidden);
        w.add("text_model.embeddings.position_embedding.weight", positions, hidden);
        for (int l = 0; l < layers; l++) {
            String p = "text_model.encoder.layers." + l;
            for (String proj : new String[] {"k_proj", "v_proj", "q_proj", "out_proj"}) {
                w.linear(p + ".self_attn." + proj, hidden, hidden, true);
            }
            w.norm(p + ".layer_norm1", hidden);
            w.linear(p + ".mlp.fc1", intermediate, hidden, true);
            w.linear(p + ".mlp.fc2", hidden, intermediate, true);
            w.norm(p + ".layer_norm2", hidden);
        }
        w.norm("text_model.final_layer_norm", hidden);
        return w.specs;
    }

    // ---- AutoencoderKL -----------------------------------------------------------------------

    public static List<Spec> autoencoderKl(int[] ch, int layersPerBlock, int latent) {
        return autoencoderKl(new AutoencoderKlConfig(ch, layersPerBlock, 32, latent, 3, 3, 0.18215, true, true, true));
    }

    /** The parameters of a diffusers AutoencoderKL with this config.json (current attention names). */
    public static List<Spec> autoencoderKl(AutoencoderKlConfig c) {
        WeightSpecs w = new WeightSpecs();
        int[] ch = c.blockOutChannels();
        int layersPerBlock = c.layersPerBlock();
        int latent = c.latentChannels();
        int n = ch.length;
        w.conv("encoder.conv_in", ch[0], c.inChannels(), 3, true);
        int out = ch[0];
        for (int i = 0; i < n; i++) {
            int in = out;
            out = ch[i];
            for (int j = 0; j < layersPerBlock; j++) {
                w.resnet("encoder.down_blocks." + i + ".resnets." + j, j == 0 ? in : out, out, 0);
            }
            if (i < n - 1) w.conv("encoder.down_blocks." + i + ".downsamplers.0.conv", out, out, 3, true);
        }
        w.vaeMid("encoder.mid_block", ch[n - 1], c.midBlockAddAttention());
        w.norm("encoder.conv_norm_out", ch[n - 1]);
        w.conv("encoder.conv_out", 2 * latent, ch[n - 1], 3, true);
        if (c.useQuantConv()) w.conv("quant_conv", 2 * latent, 2 * latent, 1, true);
        if (c.usePostQuantConv()) w.conv("post_quant_conv", latent, latent, 1, true);
        w.conv("decoder.conv_in", ch[n - 1], latent, 3, true);
        w.vaeMid("decoder.mid_block", ch[n - 1], c.midBlockAddAttention());
        int prev = ch[n - 1];
        for (int i = 0; i < n; i++) {
            int o = ch[n - 1 - i];
            for (int j = 0; j <= layersPerBlock; j++) {
                w.resnet("decoder.up_blocks." + i + ".resnets." + j, j == 0 ? prev : o, o, 0);
            }
            if (i < n - 1) w.conv("decoder.up_blocks." + i + ".upsamplers.0.conv", o, o, 3, true);
            prev = o;
        }
        w.norm("decoder.conv_norm_out", ch[0]);
        w.conv("decoder.conv_out", c.outChannels(), ch[0], 3, true);
        return w.specs;
    }

    private void vaeMid(String p, int c, boolean attention) {
        resnet(p + ".resnets.0", c, c, 0);
        if (attention) {
            norm(p + ".attentions.0.group_norm", c);
            linear(p + ".attentions.0.to_q", c, c, true);
            linear(p + ".attentions.0.to_k", c, c, true);
            linear(p + ".attentions.0.to_v", c, c, true);
            linear(p + ".attentions.0.to_out.0", c, c, true);
        }
        resnet(p + ".resnets.1", c, c, 0);
    }

    // ---- AutoencoderTiny (TAESD) ---------------------------------------------------------------

    public static List<Spec> taesd(int channels, int[] encoderBlocks, int[] decoderBlocks, int latent) {
        WeightSpecs w = new WeightSpecs();
        int layer = 0;
        for (int i = 0; i < encoderBlocks.length; i++) {
            w.conv("encoder.layers." + layer++, channels, i == 0 ? 3 : channels, 3, i == 0);
            for (int b = 0; b < encoderBlocks[i]; b++) w.tinyBlock("encoder.layers." + layer++, channels);
        }
        w.conv("encoder.layers." + layer, latent, channels, 3, true);
        w.conv("decoder.layers.0", channels, latent, 3, true);
        layer = 2;
        for (int i = 0; i < decoderBlocks.length; i++) {
            boolean last = i == decoderBlocks.length - 1;
            for (int b = 0; b < decoderBlocks[i]; b++) w.tinyBlock("decoder.layers." + layer++, channels);
            if (!last) layer++; // Upsample
            w.conv("decoder.layers." + layer++, last ? 3 : channels, channels, 3, last);
        }
        return w.specs;
    }

    private void tinyBlock(String p, int c) {
        conv(p + ".conv.0", c, c, 3, true);
        conv(p + ".conv.2", c, c, 3, true);
        conv(p + ".conv.4", c, c, 3, true);
    }

    // ---- IP-Adapter --------------------------------------------------------------------------

    /** The parameters of a transformers CLIPVisionModelWithProjection with this config (an IP-Adapter's image encoder). */
    public static List<Spec> clipVision(ClipVisionConfig c) {
        WeightSpecs w = new WeightSpecs();
        int hidden = c.hiddenSize();
        w.add("vision_model.embeddings.class_embedding", hidden);
        w.add("vision_model.embeddings.patch_embedding.weight", hidden, c.numChannels(), c.patchSize(), c.patchSize());
        w.add("vision_model.embeddings.position_embedding.weight", c.positions(), hidden);
        w.norm("vision_model.pre_layrnorm", hidden);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "vision_model.encoder.layers." + l;
            for (String proj : new String[] {"k_proj", "v_proj", "q_proj", "out_proj"}) {
                w.linear(p + ".self_attn." + proj, hidden, hidden, true);
            }
            w.norm(p + ".layer_norm1", hidden);
            w.linear(p + ".mlp.fc1", c.intermediateSize(), hidden, true);
            w.linear(p + ".mlp.fc2", hidden, c.intermediateSize(), true);
            w.norm(p + ".layer_norm2", hidden);
        }
        w.norm("vision_model.post_layernorm", hidden);
        w.linear("visual_projection", c.projectionDim(), hidden, false);
        return w.specs;
    }

    /**
     * The parameters of an IP-Adapter (h94 layout) for a UNet with this config: the image
     * projection to {@code tokens} tokens and the bias-free K/V projections of every cross-attention.
     */
    public static List<Spec> ipAdapter(UnetConfig unet, int embedDim, int tokens) {
        WeightSpecs w = new WeightSpecs();
        int dim = unet.crossAttentionDim();
        w.linear(IpAdapterWeights.PROJECTION, tokens * dim, embedDim, true);
        w.norm(IpAdapterWeights.NORM, dim);
        List<String> attns = IpAdapterWeights.crossAttentions(unet);
        for (int i = 0; i < attns.size(); i++) {
            int inner = innerDim(unet, attns.get(i));
            w.linear(IpAdapterWeights.key(i) + ".to_k_ip", inner, dim, false);
            w.linear(IpAdapterWeights.key(i) + ".to_v_ip", inner, dim, false);
        }
        return w.specs;
    }

    /** The attention width (the block's channel count) of a cross-attention module path. */
    private static int innerDim(UnetConfig c, String attn) {
        String[] parts = attn.split("\\.");
        int[] ch = c.blockOutChannels();
        return switch (parts[0]) {
            case "down_blocks" -> ch[Integer.parseInt(parts[1])];
            case "up_blocks" -> ch[ch.length - 1 - Integer.parseInt(parts[1])];
            default -> ch[ch.length - 1];
        };
    }
}
