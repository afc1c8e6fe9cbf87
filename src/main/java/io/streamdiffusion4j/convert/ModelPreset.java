package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * Architectures the project can create with random weights: {@code tiny} (a small sd-turbo-like
 * model, fast enough for every command and test on a laptop CPU), and the full-size
 * {@code sd-turbo} (SD 2.1 layout) and {@code sd15} configurations for benchmarks. The configs
 * are the real models' (stabilityai/sd-turbo, SD 1.5), with this project's byte-level tokenizer.
 */
public enum ModelPreset {
    TINY("tiny", new int[] {16, 16, 32, 32}, 8, new int[] {2, 2, 4, 4}, true, 16, 2, 2, 64, "gelu", 514,
            new int[] {8, 16, 16, 16}, 4, 16),
    SD_TURBO("sd-turbo", new int[] {320, 640, 1280, 1280}, 32, new int[] {5, 10, 20, 20}, true, 1024, 23, 16, 4096, "gelu",
            49408, new int[] {128, 256, 512, 512}, 32, 64),
    SD15("sd15", new int[] {320, 640, 1280, 1280}, 32, new int[] {8, 8, 8, 8}, false, 768, 12, 12, 3072, "quick_gelu",
            49408, new int[] {128, 256, 512, 512}, 32, 64);

    private final String key;
    final int[] unetChannels;
    final int unetGroups;
    final int[] heads;
    final boolean linearProjection;
    final int textHidden;
    final int textLayers;
    final int textHeads;
    final int textIntermediate;
    final String textAct;
    final int vocab;
    final int[] vaeChannels;
    final int vaeGroups;
    final int taesdChannels;

    ModelPreset(String key, int[] unetChannels, int unetGroups, int[] heads, boolean linearProjection, int textHidden,
                int textLayers, int textHeads, int textIntermediate, String textAct, int vocab, int[] vaeChannels,
                int vaeGroups, int taesdChannels) {
        this.key = key;
        this.unetChannels = unetChannels;
        this.unetGroups = unetGroups;
        this.heads = heads;
        this.linearProjection = linearProjection;
        this.textHidden = textHidden;
        this.textLayers = textLayers;
        this.textHeads = textHeads;
        this.textIntermediate = textIntermediate;
        this.textAct = textAct;
        this.vocab = vocab;
        this.vaeChannels = vaeChannels;
        this.vaeGroups = vaeGroups;
        this.taesdChannels = taesdChannels;
    }

    public String key() {
        return key;
    }

    public static ModelPreset parse(String s) {
        for (ModelPreset p : values()) if (p.key.equals(s.toLowerCase(Locale.ROOT))) return p;
        throw new IllegalArgumentException("unknown model configuration '" + s + "'; expected tiny, sd-turbo or sd15");
    }

    static final String[] DOWN = {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"};
    static final String[] UP = {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"};

    WeightSpecs.UnetSpec unetSpec() {
        return new WeightSpecs.UnetSpec(4, 4, unetChannels, 2, DOWN, UP, textHidden, linearProjection);
    }

    ObjectNode unetConfig() {
        ObjectNode n = base("UNet2DConditionModel");
        n.put("act_fn", "silu");
        ints(n.putArray("attention_head_dim"), heads);
        ints(n.putArray("block_out_channels"), unetChannels);
        n.put("center_input_sample", false);
        n.put("cross_attention_dim", textHidden);
        strings(n.putArray("down_block_types"), DOWN);
        n.put("downsample_padding", 1);
        n.put("flip_sin_to_cos", true);
        n.put("freq_shift", 0);
        n.put("in_channels", 4);
        n.put("layers_per_block", 2);
        n.put("mid_block_scale_factor", 1);
        n.put("mid_block_type", "UNetMidBlock2DCrossAttn");
        n.put("norm_eps", 1e-5);
        n.put("norm_num_groups", unetGroups);
        n.put("out_channels", 4);
        n.put("sample_size", 64);
        n.put("transformer_layers_per_block", 1);
        strings(n.putArray("up_block_types"), UP);
        n.put("upcast_attention", false);
        n.put("use_linear_projection", linearProjection);
        return n;
    }

    ObjectNode textConfig() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.putArray("architectures").add("CLIPTextModel");
        n.put("model_type", "clip_text_model");
        n.put("hidden_size", textHidden);
        n.put("intermediate_size", textIntermediate);
        n.put("num_attention_heads", textHeads);
        n.put("num_hidden_layers", textLayers);
        n.put("max_position_embeddings", 77);
        n.put("vocab_size", vocab);
        n.put("hidden_act", textAct);
        n.put("layer_norm_eps", 1e-5);
        n.put("bos_token_id", ByteLevelTokenizer.BOS);
        n.put("eos_token_id", ByteLevelTokenizer.EOS);
        n.put("pad_token_id", ByteLevelTokenizer.EOS);
        n.put("projection_dim", textHidden);
        n.put("torch_dtype", "float32");
        return n;
    }

    ObjectNode vaeConfig() {
        ObjectNode n = base("AutoencoderKL");
        n.put("act_fn", "silu");
        ints(n.putArray("block_out_channels"), vaeChannels);
        strings(n.putArray("down_block_types"), repeat("DownEncoderBlock2D", vaeChannels.length));
        strings(n.putArray("up_block_types"), repeat("UpDecoderBlock2D", vaeChannels.length));
        n.put("in_channels", 3);
        n.put("out_channels", 3);
        n.put("latent_channels", 4);
        n.put("layers_per_block", 2);
        n.put("norm_num_groups", vaeGroups);
        n.put("sample_size", 512);
        n.put("scaling_factor", 0.18215);
        return n;
    }

    ObjectNode taesdConfig() {
        ObjectNode n = base("AutoencoderTiny");
        n.put("act_fn", "relu");
        ints(n.putArray("encoder_block_out_channels"), new int[] {taesdChannels, taesdChannels, taesdChannels, taesdChannels});
        ints(n.putArray("decoder_block_out_channels"), new int[] {taesdChannels, taesdChannels, taesdChannels, taesdChannels});
        ints(n.putArray("num_encoder_blocks"), new int[] {1, 3, 3, 3});
        ints(n.putArray("num_decoder_blocks"), new int[] {3, 3, 3, 1});
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

    private static void ints(com.fasterxml.jackson.databind.node.ArrayNode a, int[] v) {
        for (int x : v) a.add(x);
    }

    private static void strings(com.fasterxml.jackson.databind.node.ArrayNode a, String[] v) {
        for (String x : v) a.add(x);
    }

    private static String[] repeat(String s, int n) {
        String[] out = new String[n];
        java.util.Arrays.fill(out, s);
        return out;
    }
}
