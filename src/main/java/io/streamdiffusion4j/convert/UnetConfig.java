package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * The parts of a diffusers {@code UNet2DConditionModel} config.json that {@link UnetGraph} needs,
 * with diffusers' defaults for absent keys. Lists that diffusers also accepts as a single value
 * (heads, layers per block, transformer layers, cross-attention size) are expanded to one entry
 * per down block. Options that change the architecture in ways the graph does not implement
 * (class embeddings, added embeddings other than SDXL's text_time, scale-shift time conditioning, other block types, ...) are rejected
 * with an error naming the file, the key and the value.
 *
 * @param attentionHeads number of attention heads per down block (index i); up block i uses
 *     entry {@code n - 1 - i}. diffusers calls this {@code attention_head_dim} for historical
 *     reasons; {@code num_attention_heads} wins when given
 * @param layersPerBlock resnets per down block; an up block has one more
 * @param transformerLayersPerBlock BasicTransformerBlocks in each Transformer2DModel, per down block
 * @param midBlockType {@code UNetMidBlock2DCrossAttn} or null for no mid block
 * @param addedEmbedding SDXL's {@code addition_embed_type: "text_time"} embedding, or null
 */
public record UnetConfig(
        int inChannels,
        int outChannels,
        int[] blockOutChannels,
        int[] layersPerBlock,
        String[] downBlockTypes,
        String midBlockType,
        String[] upBlockTypes,
        int[] attentionHeads,
        int[] transformerLayersPerBlock,
        int crossAttentionDim,
        boolean useLinearProjection,
        boolean upcastAttention,
        int normNumGroups,
        float normEps,
        boolean flipSinToCos,
        float freqShift,
        int timeEmbeddingDim,
        int convInKernel,
        int convOutKernel,
        int downsamplePadding,
        float midBlockScaleFactor,
        boolean centerInputSample,
        SdxlAddedEmbedding.Config addedEmbedding) {

    public static final String CROSS_ATTN_DOWN = "CrossAttnDownBlock2D";
    public static final String DOWN = "DownBlock2D";
    public static final String CROSS_ATTN_MID = "UNetMidBlock2DCrossAttn";
    public static final String UP = "UpBlock2D";
    public static final String CROSS_ATTN_UP = "CrossAttnUpBlock2D";

    private static final Set<String> DOWN_TYPES = Set.of(CROSS_ATTN_DOWN, DOWN);
    private static final Set<String> UP_TYPES = Set.of(UP, CROSS_ATTN_UP);

    // diffusers' UNet2DConditionModel defaults (SD 1.x sizes)
    private static final String[] DEFAULT_DOWN = {CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, DOWN};
    private static final String[] DEFAULT_UP = {UP, CROSS_ATTN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP};
    private static final int[] DEFAULT_CHANNELS = {320, 640, 1280, 1280};

    public int blockCount() {
        return blockOutChannels.length;
    }

    /** Heads of up block {@code i} (up blocks run in reverse channel order). */
    public int upHeads(int i) {
        return attentionHeads[blockCount() - 1 - i];
    }

    /** Resnets of up block {@code i}: one more than the matching down block, for the extra skip. */
    public int upLayers(int i) {
        return layersPerBlock[blockCount() - 1 - i] + 1;
    }

    public int upTransformerLayers(int i) {
        return transformerLayersPerBlock[blockCount() - 1 - i];
    }

    public static UnetConfig read(Path file) throws IOException {
        return parse(ConfigFiles.read(file), file);
    }

    /** The config from its parsed JSON; {@code file} names it in error messages. */
    public static UnetConfig parse(JsonNode n, Path file) throws IOException {
        String cls = ConfigFiles.text(n, "_class_name", "UNet2DConditionModel");
        if (!cls.equals("UNet2DConditionModel")) {
            throw new InputFileException(file + ": '_class_name' is " + cls + ", expected UNet2DConditionModel");
        }
        SdxlAddedEmbedding.Config added = SdxlAddedEmbedding.Config.parse(n, file);
        rejectUnsupported(n, file, added != null);

        int[] channels = ConfigFiles.ints(n, "block_out_channels", DEFAULT_CHANNELS, file);
        int blocks = channels.length;
        if (blocks == 0) throw new InputFileException(file + ": 'block_out_channels' is empty");
        for (int c : channels) {
            if (c <= 0) throw new InputFileException(file + ": 'block_out_channels' should be positive, found " + Arrays.toString(channels));
        }
        String[] down = ConfigFiles.strings(n, "down_block_types", DEFAULT_DOWN, file);
        String[] up = ConfigFiles.strings(n, "up_block_types", DEFAULT_UP, file);
        checkTypes(down, DOWN_TYPES, "down_block_types", blocks, file);
        checkTypes(up, UP_TYPES, "up_block_types", blocks, file);
        // an explicit null means "no mid block" (an absent key means the default)
        String mid = n.has("mid_block_type") && n.get("mid_block_type").isNull() ? null
                : ConfigFiles.text(n, "mid_block_type", CROSS_ATTN_MID);
        if (mid != null && !mid.equals(CROSS_ATTN_MID)) {
            throw new InputFileException(file + ": 'mid_block_type' " + mid + " is not supported (supported: " + CROSS_ATTN_MID + " or null)");
        }

        // diffusers: num_attention_heads = num_attention_heads or attention_head_dim (the latter really holds heads)
        String headsKey = n.hasNonNull("num_attention_heads") ? "num_attention_heads" : "attention_head_dim";
        int[] heads = perBlock(n, headsKey, 8, blocks, file);
        for (int i = 0; i < blocks; i++) {
            if (heads[i] <= 0 || channels[i] % heads[i] != 0) {
                throw new InputFileException(file + ": '" + headsKey + "' " + heads[i] + " heads do not divide the " + channels[i]
                        + " channels of block " + i);
            }
        }
        int[] layers = perBlock(n, "layers_per_block", 2, blocks, file);
        int[] transformerLayers = perBlock(n, "transformer_layers_per_block", 1, blocks, file);
        int[] crossDims = perBlock(n, "cross_attention_dim", 1280, blocks, file);
        for (int d : crossDims) {
            if (d != crossDims[0]) {
                throw new InputFileException(file + ": 'cross_attention_dim' with different sizes per block "
                        + Arrays.toString(crossDims) + " is not supported");
            }
        }

        if (n.has("norm_num_groups") && n.get("norm_num_groups").isNull()) {
            throw new InputFileException(file + ": 'norm_num_groups' null (no norms) is not supported");
        }
        int groups = ConfigFiles.integer(n, "norm_num_groups", 32, file);
        for (int c : channels) {
            if (groups <= 0 || c % groups != 0) {
                throw new InputFileException(file + ": 'norm_num_groups' " + groups + " does not divide block channels " + Arrays.toString(channels));
            }
        }
        if (channels[0] % 2 != 0) {
            throw new InputFileException(file + ": 'block_out_channels'[0] " + channels[0] + " is odd; the sinusoidal time embedding needs an even size");
        }
        String act = ConfigFiles.text(n, "act_fn", "silu");
        if (!act.equals("silu")) throw new InputFileException(file + ": 'act_fn' " + act + " is not supported (only silu)");
        int convIn = ConfigFiles.integer(n, "conv_in_kernel", 3, file);
        int convOut = ConfigFiles.integer(n, "conv_out_kernel", 3, file);
        if (convIn % 2 == 0 || convIn <= 0) throw new InputFileException(file + ": 'conv_in_kernel' should be odd, found " + convIn);
        if (convOut % 2 == 0 || convOut <= 0) throw new InputFileException(file + ": 'conv_out_kernel' should be odd, found " + convOut);
        int downsamplePadding = ConfigFiles.integer(n, "downsample_padding", 1, file);
        if (downsamplePadding != 0 && downsamplePadding != 1) {
            throw new InputFileException(file + ": 'downsample_padding' " + downsamplePadding + " is not supported (0 or 1)");
        }
        int timeDim = ConfigFiles.integer(n, "time_embedding_dim", 4 * channels[0], file);

        return new UnetConfig(
                ConfigFiles.integer(n, "in_channels", 4, file),
                ConfigFiles.integer(n, "out_channels", 4, file),
                channels, layers, down, mid, up, heads, transformerLayers, crossDims[0],
                ConfigFiles.bool(n, "use_linear_projection", false, file),
                ConfigFiles.bool(n, "upcast_attention", false, file),
                groups,
                (float) ConfigFiles.number(n, "norm_eps", 1e-5, file),
                ConfigFiles.bool(n, "flip_sin_to_cos", true, file),
                (float) ConfigFiles.number(n, "freq_shift", 0, file),
                timeDim, convIn, convOut, downsamplePadding,
                (float) ConfigFiles.number(n, "mid_block_scale_factor", 1, file),
                ConfigFiles.bool(n, "center_input_sample", false, file),
                added);
    }

    /** An int or a list of ints, one per block. */
    private static int[] perBlock(JsonNode n, String key, int dflt, int blocks, Path file) throws IOException {
        JsonNode v = n.get(key);
        int[] out;
        if (v == null || v.isNull()) {
            out = new int[blocks];
            Arrays.fill(out, dflt);
        } else if (v.isIntegralNumber()) {
            out = new int[blocks];
            Arrays.fill(out, v.intValue());
        } else if (v.isArray()) {
            out = ConfigFiles.ints(n, key, null, file);
            if (out.length != blocks) {
                throw new InputFileException(file + ": '" + key + "' has " + out.length + " entries, 'block_out_channels' has " + blocks);
            }
        } else {
            throw new InputFileException(file + ": '" + key + "' should be an integer or a list of integers, found " + v);
        }
        for (int x : out) {
            if (x <= 0) throw new InputFileException(file + ": '" + key + "' should be positive, found " + v);
        }
        return out;
    }

    private static void checkTypes(String[] types, Set<String> supported, String key, int blocks, Path file) throws IOException {
        if (types.length != blocks) {
            throw new InputFileException(file + ": '" + key + "' has " + types.length + " entries, 'block_out_channels' has " + blocks);
        }
        for (String t : types) {
            if (!supported.contains(t)) {
                throw new InputFileException(file + ": '" + key + "' value " + t + " is not supported (supported: "
                        + String.join(", ", supported.stream().sorted().toList()) + ")");
            }
        }
    }

    /** Options that add modules or change the computation; only their neutral values are supported. */
    private static void rejectUnsupported(JsonNode n, Path file, boolean textTime) throws IOException {
        for (String key : new String[] {"class_embed_type", "addition_embed_type", "encoder_hid_dim", "encoder_hid_dim_type",
                "time_cond_proj_dim", "num_class_embeds", "projection_class_embeddings_input_dim", "timestep_post_act",
                "time_embedding_act_fn", "cross_attention_norm", "reverse_transformer_layers_per_block"}) {
            // SDXL's text_time embedding is read by SdxlAddedEmbedding.Config
            boolean sdxlKey = key.equals("addition_embed_type") || key.equals("projection_class_embeddings_input_dim");
            if (textTime && sdxlKey) continue;
            if (n.hasNonNull(key)) throw new InputFileException(file + ": '" + key + "' " + n.get(key) + " is not supported (only null)");
        }
        expectText(n, "time_embedding_type", "positional", file);
        expectText(n, "resnet_time_scale_shift", "default", file);
        expectText(n, "attention_type", "default", file);
        for (String key : new String[] {"dual_cross_attention", "resnet_skip_time_act", "class_embeddings_concat"}) {
            if (ConfigFiles.bool(n, key, false, file)) throw new InputFileException(file + ": '" + key + "' true is not supported");
        }
        JsonNode only = n.get("only_cross_attention");
        if (only != null && !only.isNull()) {
            boolean any = only.isArray() ? anyTrue(only) : only.asBoolean(false);
            if (any) throw new InputFileException(file + ": 'only_cross_attention' " + only + " is not supported (only false)");
        }
        double resnetScale = ConfigFiles.number(n, "resnet_out_scale_factor", 1.0, file);
        if (resnetScale != 1.0) throw new InputFileException(file + ": 'resnet_out_scale_factor' " + resnetScale + " is not supported (only 1.0)");
    }

    private static boolean anyTrue(JsonNode list) {
        for (JsonNode x : list) if (x.asBoolean(false)) return true;
        return false;
    }

    private static void expectText(JsonNode n, String key, String expected, Path file) throws IOException {
        String v = ConfigFiles.text(n, key, expected);
        if (!v.equals(expected)) throw new InputFileException(file + ": '" + key + "' " + v + " is not supported (only " + expected + ")");
    }
}
