package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.Locale;

/**
 * Architectures the project can create with random weights: {@code tiny} (a small sd-turbo-like
 * model, fast enough for every command and test on a laptop CPU), the full-size {@code sd-turbo}
 * (SD 2.1 layout) and {@code sd15} configurations, and the small one-step UNets {@code bk-sdm-tiny}
 * and {@code sdxs}. The configs are the real models' (see each preset), with this project's
 * byte-level tokenizer.
 */
public enum ModelPreset {
    TINY("tiny", new Architecture(
            unetConfig(new int[] {16, 16, 32, 32}, 8, new int[] {2, 2, 4, 4}, 2, Sd.SD_DOWN, Sd.SD_UP, true, 16, true),
            textConfig(16, 2, 2, 64, "gelu", 514),
            vaeConfig(new int[] {8, 16, 16, 16}, 4),
            taesdConfig(16), false)),
    /** stabilityai/sd-turbo: the SD 2.1 UNet (865.9M) and OpenCLIP ViT-H text encoder. */
    SD_TURBO("sd-turbo", new Architecture(
            unetConfig(Sd.SD_CHANNELS, 32, new int[] {5, 10, 20, 20}, 2, Sd.SD_DOWN, Sd.SD_UP, true, 1024, true),
            Sd.OPEN_CLIP_H, Sd.SD_VAE, taesdConfig(64), false)),
    SD15("sd15", new Architecture(
            unetConfig(Sd.SD_CHANNELS, 32, new int[] {8, 8, 8, 8}, 2, Sd.SD_DOWN, Sd.SD_UP, true, 768, false),
            Sd.CLIP_L, Sd.SD_VAE, taesdConfig(64), false)),
    /**
     * nota-ai/bk-sdm-tiny: SD 1.4 with the innermost stage, the mid block and one resnet+attention
     * pair per stage removed. UNet values from the authors' config
     * https://github.com/Nota-NetsPresso/BK-SDM/blob/main/src/unet_config/bk_tiny/config.json
     * (three CrossAttn down and up blocks, layers_per_block 1, mid_block_type null, attention_head_dim 8,
     * cross_attention_dim 768, use_linear_projection false); text encoder and VAE are SD 1.4's
     * (the model card: "keeping the other parts (i.e., Text Encoder and Image Decoder) unchanged"),
     * https://huggingface.co/nota-ai/bk-sdm-tiny. 323M UNet weights, as the model card says (0.32B).
     */
    BK_SDM_TINY("bk-sdm-tiny", new Architecture(
            unetConfig(new int[] {320, 640, 1280}, 32, new int[] {8, 8, 8}, 1,
                    new String[] {UnetConfig.CROSS_ATTN_DOWN, UnetConfig.CROSS_ATTN_DOWN, UnetConfig.CROSS_ATTN_DOWN}, 
                    new String[] {UnetConfig.CROSS_ATTN_UP, UnetConfig.CROSS_ATTN_UP, UnetConfig.CROSS_ATTN_UP},
                    false, 768, false),
            Sd.CLIP_L, Sd.SD_VAE, taesdConfig(64), false)),
    /**
     * IDKiro/sdxs-512-0.9 (https://huggingface.co/IDKiro/sdxs-512-0.9): one-step SD 2.1-base
     * distillation whose {@code vae/} is an AutoencoderTiny (9.79 MB of weights: TAESD size, 64
     * channels) and {@code vae_large/} the SD AutoencoderKL (335 MB). The UNet's unet/config.json
     * could not be read here; its structure is taken from the same-architecture sibling
     * IDKiro/sdxs-512-dreamshaper, whose unet/config.json was readable
     * (https://huggingface.co/lsb/6-bit-palettized-sdxs-512-dreamshaper/blame/main/unet/config.json,
     * a copy of it: block_out_channels [320, 640, 1280], down [DownBlock2D, CrossAttnDownBlock2D,
     * CrossAttnDownBlock2D], layers_per_block 1, mid_block_type null, attention_head_dim 8), with the
     * SD 2.1 text width 1024 for cross_attention_dim (the 0.9 model's text encoder is OpenCLIP ViT-H:
     * public conversion scripts for IDKiro/sdxs-512-0.9 use hidden size 1024). NOT read from the real
     * file, so inferred: up_block_types (mirror of the down blocks, as diffusers builds them) and
     * use_linear_projection true (SD 2.1's). Check: this gives 318.7M UNet weights, the paper's 319M
     * (arXiv 2403.16627, Table 1).
     */
    SDXS("sdxs", new Architecture(
            unetConfig(new int[] {320, 640, 1280}, 32, new int[] {8, 8, 8}, 1,
                    new String[] {UnetConfig.DOWN, UnetConfig.CROSS_ATTN_DOWN, UnetConfig.CROSS_ATTN_DOWN},
                    new String[] {UnetConfig.CROSS_ATTN_UP, UnetConfig.CROSS_ATTN_UP, UnetConfig.UP},
                    false, 1024, true),
            Sd.OPEN_CLIP_H, Sd.SD_VAE, taesdConfig(64), true)),
    /**
     * A small SDXL-layout model for tests (seconds to create, convert and run): SDXL's block
     * structure (no attention in the first block, transformer depth growing per block, linear
     * projections, the text_time added embedding) and two text encoders (the second with a
     * projection) at toy widths: 16 + 32 = 48 cross-attention features, a 32-wide pooled embedding.
     */
    TINY_SDXL("tiny-sdxl", Sdxl.architecture(
            Sdxl.unet(new int[] {16, 32, 32}, 8, new int[] {2, 2, 4}, new int[] {1, 1, 2}, 48, 8, 32),
            textConfig(16, 2, 2, 64, "quick_gelu", ByteLevelTokenizer.VOCAB),
            Sdxl.textEncoder2(textConfig(32, 3, 2, 128, "gelu", ByteLevelTokenizer.VOCAB), 32),
            vaeConfig(new int[] {8, 16, 16, 16}, 4, Sdxl.VAE_SCALING), taesdConfig(16))),
    /**
     * stabilityai/sdxl-turbo (https://huggingface.co/stabilityai/sdxl-turbo): the SDXL 1.0 UNet
     * (2.57B; unet/config.json: block_out_channels [320, 640, 1280], attention_head_dim [5, 10, 20],
     * transformer_layers_per_block [1, 2, 10], cross_attention_dim 2048, addition_time_embed_dim 256,
     * projection_class_embeddings_input_dim 2816, use_linear_projection true), CLIP ViT-L/14
     * (text_encoder/) and OpenCLIP ViT-bigG/14 with its 1280 projection (text_encoder_2/: 32 layers,
     * 20 heads, 5120 intermediate, gelu), the SDXL VAE (SD's architecture, scaling_factor 0.13025)
     * and a TAESDXL-sized tiny VAE.
     */
    SDXL_TURBO("sdxl-turbo", Sdxl.architecture(
            Sdxl.unet(new int[] {320, 640, 1280}, 32, new int[] {5, 10, 20}, new int[] {1, 2, 10}, 2048, 256, 1280),
            Sd.CLIP_L,
            Sdxl.textEncoder2(textConfig(1280, 32, 20, 5120, "gelu", 49408), 1280),
            vaeConfig(new int[] {128, 256, 512, 512}, 32, Sdxl.VAE_SCALING), taesdConfig(64)));

    private final String key;
    private final Architecture architecture;

    ModelPreset(String key, Architecture architecture) {
        this.key = key;
        this.architecture = architecture;
    }

    public String key() {
        return key;
    }

    public Architecture architecture() {
        return architecture;
    }

    /** The preset names, for help and error messages. */
    public static String names() {
        return String.join(", ", Arrays.stream(values()).map(ModelPreset::key).toList());
    }

    public static ModelPreset parse(String s) {
        for (ModelPreset p : values()) if (p.key.equals(s.toLowerCase(Locale.ROOT))) return p;
        throw new IllegalArgumentException("unknown model configuration '" + s + "'; expected one of " + names());
    }

    /**
     * The config.json of each component of a model.
     *
     * @param vae the full AutoencoderKL
     * @param tinyVae the AutoencoderTiny (TAESD)
     * @param tinyVaeIsVae true for the SDXS layout: the tiny VAE in {@code vae/} and the full one in
     *     {@code vae_large/}; false for the usual {@code vae/} plus this project's {@code taesd/}
     */
    public record Architecture(ObjectNode unet, ObjectNode textEncoder, ObjectNode vae, ObjectNode tinyVae,
                               boolean tinyVaeIsVae, ObjectNode textEncoder2) {
        /** An SD 1.x / 2.x architecture: one text encoder. */
        public Architecture(ObjectNode unet, ObjectNode textEncoder, ObjectNode vae, ObjectNode tinyVae, boolean tinyVaeIsVae) {
            this(unet, textEncoder, vae, tinyVae, tinyVaeIsVae, null);
        }

        /** Stable Diffusion XL: a second text encoder (with projection) in {@code text_encoder_2/}. */
        public boolean isSdxl() {
            return textEncoder2 != null;
        }

        public String vaeFolder() {
            return tinyVaeIsVae ? "vae_large" : "vae";
        }

        public String tinyVaeFolder() {
            return tinyVaeIsVae ? "vae" : "taesd";
        }
    }

    /** Shared SD values; a holder class because enum constants cannot read the enum's own static fields. */
    private static final class Sd {
        static final int[] SD_CHANNELS = {320, 640, 1280, 1280};
        static final String[] SD_DOWN = {UnetConfig.CROSS_ATTN_DOWN, UnetConfig.CROSS_ATTN_DOWN,
                UnetConfig.CROSS_ATTN_DOWN, UnetConfig.DOWN};
        static final String[] SD_UP = {UnetConfig.UP, UnetConfig.CROSS_ATTN_UP, UnetConfig.CROSS_ATTN_UP,
                UnetConfig.CROSS_ATTN_UP};
        /** SD 2.x's OpenCLIP ViT-H/14 text tower (the real vocabulary size, this project's tokenizer ids). */
        static final ObjectNode OPEN_CLIP_H = textConfig(1024, 23, 16, 4096, "gelu", 49408);
        /** SD 1.x's CLIP ViT-L/14 text tower. */
        static final ObjectNode CLIP_L = textConfig(768, 12, 12, 3072, "quick_gelu", 49408);
        static final ObjectNode SD_VAE = vaeConfig(new int[] {128, 256, 512, 512}, 32);
    }

    /** SDXL values; a holder class for the same reason as {@link Sd}. */
    private static final class Sdxl {
        /** The SDXL VAE's scaling_factor (madebyollin/sdxl-vae-fp16-fix and stabilityai/sdxl-vae config.json). */
        static final double VAE_SCALING = 0.13025;

        static Architecture architecture(ObjectNode unet, ObjectNode text, ObjectNode text2, ObjectNode vae, ObjectNode tiny) {
            return new Architecture(unet, text, vae, tiny, false, text2);
        }

        /** SDXL's UNet layout: DownBlock2D first, then CrossAttn blocks; text_time added embedding. */
        static ObjectNode unet(int[] channels, int groups, int[] heads, int[] transformerLayers, int crossAttentionDim,
                               int timeIdDim, int pooledDim) {
            int n = channels.length;
            String[] down = new String[n];
            String[] up = new String[n];
            for (int i = 0; i < n; i++) {
                down[i] = i == 0 ? UnetConfig.DOWN : UnetConfig.CROSS_ATTN_DOWN;
                up[i] = i == n - 1 ? UnetConfig.UP : UnetConfig.CROSS_ATTN_UP;
            }
            ObjectNode u = unetConfig(channels, groups, heads, 2, down, up, true, crossAttentionDim, true);
            ints(u.putArray("transformer_layers_per_block"), transformerLayers);
            u.put("addition_embed_type", "text_time");
            u.put("addition_time_embed_dim", timeIdDim);
            u.put("projection_class_embeddings_input_dim", pooledDim + 6 * timeIdDim);
            return u;
        }

        /** A CLIPTextModelWithProjection config. */
        static ObjectNode textEncoder2(ObjectNode text, int projectionDim) {
            text.putArray("architectures").add("CLIPTextModelWithProjection");
            text.put("projection_dim", projectionDim);
            return text;
        }
    }

    /** A diffusers UNet2DConditionModel config.json with these structure values (SD defaults for the rest). */
    public static ObjectNode unetConfig(int[] channels, int groups, int[] heads, int layersPerBlock, String[] down,
                                        String[] up, boolean midBlock, int crossAttentionDim, boolean linearProjection) {
        ObjectNode n = base("UNet2DConditionModel");
        n.put("act_fn", "silu");
        ints(n.putArray("attention_head_dim"), heads);
        ints(n.putArray("block_out_channels"), channels);
        n.put("center_input_sample", false);
        n.put("cross_attention_dim", crossAttentionDim);
        strings(n.putArray("down_block_types"), down);
        n.put("downsample_padding", 1);
        n.put("flip_sin_to_cos", true);
        n.put("freq_shift", 0);
        n.put("in_channels", 4);
        n.put("layers_per_block", layersPerBlock);
        n.put("mid_block_scale_factor", 1);
        if (midBlock) n.put("mid_block_type", UnetConfig.CROSS_ATTN_MID);
        else n.putNull("mid_block_type");
        n.put("norm_eps", 1e-5);
        n.put("norm_num_groups", groups);
        n.put("out_channels", 4);
        n.put("sample_size", 64);
        n.put("transformer_layers_per_block", 1);
        strings(n.putArray("up_block_types"), up);
        n.put("upcast_attention", false);
        n.put("use_linear_projection", linearProjection);
        return n;
    }

    /** A transformers CLIPTextModel config.json. */
    public static ObjectNode textConfig(int hidden, int layers, int heads, int intermediate, String act, int vocab) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.putArray("architectures").add("CLIPTextModel");
        n.put("model_type", "clip_text_model");
        n.put("hidden_size", hidden);
        n.put("intermediate_size", intermediate);
        n.put("num_attention_heads", heads);
        n.put("num_hidden_layers", layers);
        n.put("max_position_embeddings", 77);
        n.put("vocab_size", vocab);
        n.put("hidden_act", act);
        n.put("layer_norm_eps", 1e-5);
        n.put("bos_token_id", ByteLevelTokenizer.BOS);
        n.put("eos_token_id", ByteLevelTokenizer.EOS);
        n.put("pad_token_id", ByteLevelTokenizer.EOS);
        n.put("projection_dim", hidden);
        n.put("torch_dtype", "float32");
        return n;
    }

    /** A diffusers AutoencoderKL config.json (SD's: 2 resnets per block, 4 latent channels). */
    public static ObjectNode vaeConfig(int[] channels, int groups) {
        return vaeConfig(channels, groups, 0.18215);
    }

    /** An AutoencoderKL config with another latent scaling factor (SDXL's VAE: 0.13025). */
    public static ObjectNode vaeConfig(int[] channels, int groups, double scalingFactor) {
        ObjectNode n = base("AutoencoderKL");
        n.put("act_fn", "silu");
        ints(n.putArray("block_out_channels"), channels);
        strings(n.putArray("down_block_types"), repeat("DownEncoderBlock2D", channels.length));
        strings(n.putArray("up_block_types"), repeat("UpDecoderBlock2D", channels.length));
        n.put("in_channels", 3);
        n.put("out_channels", 3);
        n.put("latent_channels", 4);
        n.put("layers_per_block", 2);
        n.put("norm_num_groups", groups);
        n.put("sample_size", 512);
        n.put("scaling_factor", scalingFactor);
        return n;
    }

    /** A diffusers AutoencoderTiny config.json with TAESD's block counts. */
    public static ObjectNode taesdConfig(int channels) {
        ObjectNode n = base("AutoencoderTiny");
        n.put("act_fn", "relu");
        ints(n.putArray("encoder_block_out_channels"), new int[] {channels, channels, channels, channels});
        ints(n.putArray("decoder_block_out_channels"), new int[] {channels, channels, channels, channels});
        ints(n.putArray("num_encoder_blocks"), TaesdConfig.DEFAULT.numEncoderBlocks());
        ints(n.putArray("num_decoder_blocks"), TaesdConfig.DEFAULT.numDecoderBlocks());
        n.put("in_channels", 3);
        n.put("out_channels", 3);
        n.put("latent_channels", 4);
        n.put("latent_magnitude", 3);
        n.put("latent_shift", 0.5);
        n.put("scaling_factor", 1.0);
        n.put("upsampling_scaling_factor", 2);
        return n;
    }

    /** sd-turbo's scheduler (EulerDiscrete, scaled_linear 0.00085..0.012, trailing); LCM reads the betas. */
    static ObjectNode schedulerConfig() {
        ObjectNode n = base("EulerDiscreteScheduler");
        n.put("beta_start", 0.00085);
        n.put("beta_end", 0.012);
        n.put("beta_schedule", "scaled_linear");
        n.put("num_train_timesteps", 1000);
        n.put("prediction_type", "epsilon");
        n.put("steps_offset", 1);
        n.put("timestep_spacing", "trailing");
        n.put("clip_sample", false);
        n.put("set_alpha_to_one", false);
        n.put("skip_prk_steps", true);
        return n;
    }

    private static ObjectNode base(String cls) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("_class_name", cls);
        n.put("_diffusers_version", "0.24.0");
        return n;
    }

    private static void ints(ArrayNode a, int[] v) {
        for (int x : v) a.add(x);
    }

    private static void strings(ArrayNode a, String[] v) {
        for (String x : v) a.add(x);
    }

    private static String[] repeat(String s, int n) {
        String[] out = new String[n];
        Arrays.fill(out, s);
        return out;
    }
}
