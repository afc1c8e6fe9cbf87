package io.streamdiffusion4j.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The block structure of a diffusers {@code UNet2DConditionModel}, as far as the original
 * checkpoint's block numbering depends on it: how many resnets each down block has, which down
 * and up blocks and whether the middle block have attentions and how deep their transformers are,
 * and whether the model has the SDXL added embedding ({@code add_embedding}, the original's
 * {@code label_emb}).
 *
 * <p>Read from a diffusers {@code unet/config.json} ({@link #fromConfig}), or from the diffusers
 * weight names of a UNet ({@link #fromWeightNames}) where only the weights are at hand (a LoRA's
 * base model).
 *
 * @param layersPerBlock resnets per down block; up block {@code i} has one more than down block
 *     {@code n-1-i}
 * @param downDepth transformer blocks per attention of down block {@code i}; 0 where the block has
 *     no attentions ({@code DownBlock2D})
 * @param upDepth the same for up block {@code i}; 0 for {@code UpBlock2D}
 * @param midDepth transformer blocks of the middle block's attention; 0 for no mid block
 * @param addEmbedding whether the model has {@code add_embedding} (SDXL's pooled text and size
 *     conditioning)
 */
public record UnetLayout(int[] layersPerBlock, int[] downDepth, int[] upDepth, int midDepth, boolean addEmbedding) {

    public UnetLayout {
        int n = layersPerBlock.length;
        if (n == 0) throw new IllegalArgumentException("a UNet has at least one block");
        if (downDepth.length != n || upDepth.length != n) {
            throw new IllegalArgumentException("per-block lists of different lengths: " + n + ", " + downDepth.length
                    + ", " + upDepth.length);
        }
        for (int l : layersPerBlock) if (l <= 0) throw new IllegalArgumentException("layers per block must be positive: " + l);
        for (int d : downDepth) if (d < 0) throw new IllegalArgumentException("negative transformer depth: " + d);
        for (int d : upDepth) if (d < 0) throw new IllegalArgumentException("negative transformer depth: " + d);
        if (midDepth < 0) throw new IllegalArgumentException("negative transformer depth: " + midDepth);
        layersPerBlock = layersPerBlock.clone();
        downDepth = downDepth.clone();
        upDepth = upDepth.clone();
    }

    public int blockCount() {
        return layersPerBlock.length;
    }

    /** Layers (resnets, each with its attention where the block has them) of up block {@code i}. */
    public int upLayers(int i) {
        return layersPerBlock[blockCount() - 1 - i] + 1;
    }

    @Override
    public int[] layersPerBlock() {
        return layersPerBlock.clone();
    }

    @Override
    public int[] downDepth() {
        return downDepth.clone();
    }

    @Override
    public int[] upDepth() {
        return upDepth.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UnetLayout l && Arrays.equals(layersPerBlock, l.layersPerBlock)
                && Arrays.equals(downDepth, l.downDepth) && Arrays.equals(upDepth, l.upDepth) && midDepth == l.midDepth
                && addEmbedding == l.addEmbedding;
    }

    @Override
    public int hashCode() {
        return (Arrays.hashCode(layersPerBlock) * 31 + Arrays.hashCode(downDepth)) * 31 + Arrays.hashCode(upDepth);
    }

    @Override
    public String toString() {
        return "layers per block " + Arrays.toString(layersPerBlock) + ", transformer depth per down block "
                + Arrays.toString(downDepth) + ", per up block " + Arrays.toString(upDepth) + ", mid " + midDepth
                + (addEmbedding ? ", add_embedding" : "");
    }

    // ---------------------------------------------------------------------------------------

    private static final String CROSS_ATTN_DOWN = "CrossAttnDownBlock2D";
    private static final String DOWN = "DownBlock2D";
    private static final String CROSS_ATTN_UP = "CrossAttnUpBlock2D";
    private static final String UP = "UpBlock2D";
    private static final String CROSS_ATTN_MID = "UNetMidBlock2DCrossAttn";
    // diffusers' UNet2DConditionModel defaults (the SD 1.x structure)
    private static final String[] DEFAULT_DOWN = {CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, DOWN};
    private static final String[] DEFAULT_UP = {UP, CROSS_ATTN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP};

    /**
     * The layout a diffusers UNet config describes ({@code down_block_types}, {@code up_block_types},
     * {@code layers_per_block}, {@code transformer_layers_per_block}, {@code mid_block_type},
     * {@code addition_embed_type}), with diffusers' defaults for absent keys.
     *
     * @param file names the config in error messages
     */
    public static UnetLayout fromConfig(JsonNode config, Path file) throws IOException {
        String[] down = strings(config, "down_block_types", DEFAULT_DOWN, file);
        String[] up = strings(config, "up_block_types", DEFAULT_UP, file);
        int n = down.length;
        if (n == 0) throw new InputFileException(file + ": 'down_block_types' is empty");
        if (up.length != n) {
            throw new InputFileException(file + ": 'up_block_types' has " + up.length + " entries, 'down_block_types' has " + n);
        }
        int[] layers = perBlock(config, "layers_per_block", 2, n, file);
        int[] depth = perBlock(config, "transformer_layers_per_block", 1, n, file);
        int[] downDepth = new int[n];
        int[] upDepth = new int[n];
        for (int i = 0; i < n; i++) {
            // diffusers: up block i takes the reversed list's entry (reverse_transformer_layers_per_block unset)
            downDepth[i] = blockType(down[i], CROSS_ATTN_DOWN, DOWN, "down_block_types", file) ? depth[i] : 0;
            upDepth[i] = blockType(up[i], CROSS_ATTN_UP, UP, "up_block_types", file) ? depth[n - 1 - i] : 0;
        }
        JsonNode mid = config.get("mid_block_type");   // absent: the default; an explicit null: no mid block
        if (mid != null && !mid.isNull() && !mid.asText().equals(CROSS_ATTN_MID)) {
            throw new InputFileException(file + ": 'mid_block_type' " + mid + " has no original-checkpoint names here"
                    + " (known: " + CROSS_ATTN_MID + ")");
        }
        int midDepth = mid != null && mid.isNull() ? 0 : depth[n - 1];
        JsonNode add = config.get("addition_embed_type");
        boolean addEmbedding = add != null && !add.isNull();
        if (addEmbedding && !add.asText().equals("text_time")) {
            throw new InputFileException(file + ": 'addition_embed_type' " + add + " has no original-checkpoint names here"
                    + " (known: \"text_time\", SDXL's)");
        }
        return new UnetLayout(layers, downDepth, upDepth, midDepth, addEmbedding);
    }

    private static final Pattern BLOCK_PART = Pattern.compile("(down|up)_blocks\\.(\\d+)\\.(resnets|attentions)\\.(\\d+)\\.(.*)");
    private static final Pattern TRANSFORMER = Pattern.compile("transformer_blocks\\.(\\d+)\\..*");

    /**
     * The layout of the UNet whose diffusers weight names (dotted, {@code down_blocks.0.resnets.1.conv1.weight})
     * are given: resnets, attentions and transformer blocks are counted per block.
     *
     * @throws IllegalArgumentException when the names hold no down block resnets (not a UNet)
     */
    public static UnetLayout fromWeightNames(Set<String> names) {
        int blocks = 0;
        for (String name : names) {
            Matcher m = BLOCK_PART.matcher(name);
            if (m.matches() && m.group(1).equals("down")) blocks = Math.max(blocks, Integer.parseInt(m.group(2)) + 1);
        }
        if (blocks == 0) throw new IllegalArgumentException("no down_blocks.N.resnets weights: not a diffusers UNet");
        int[] layers = new int[blocks];
        int[] downDepth = new int[blocks];
        int[] upDepth = new int[blocks];
        int midDepth = 0;
        for (String name : names) {
            Matcher m = BLOCK_PART.matcher(name);
            if (m.matches()) {
                int b = Integer.parseInt(m.group(2));
                if (b >= blocks) continue;
                boolean downBlock = m.group(1).equals("down");
                if (m.group(3).equals("resnets")) {
                    if (downBlock) layers[b] = Math.max(layers[b], Integer.parseInt(m.group(4)) + 1);
                } else {
                    int[] depth = downBlock ? downDepth : upDepth;
                    depth[b] = Math.max(depth[b], Math.max(1, transformerBlocks(m.group(5))));
                }
            } else if (name.startsWith("mid_block.attentions.0.")) {
                midDepth = Math.max(midDepth, Math.max(1, transformerBlocks(name.substring("mid_block.attentions.0.".length()))));
            }
        }
        for (int b = 0; b < blocks; b++) {
            if (layers[b] == 0) throw new IllegalArgumentException("down_blocks." + b + " has no resnets");
        }
        boolean add = names.stream().anyMatch(s -> s.startsWith("add_embedding."));
        return new UnetLayout(layers, downDepth, upDepth, midDepth, add);
    }

    /** {@code transformer_blocks.N.*} counts N + 1; other attention parts (proj_in, norm) 0. */
    private static int transformerBlocks(String attentionPart) {
        Matcher t = TRANSFORMER.matcher(attentionPart);
        return t.matches() ? Integer.parseInt(t.group(1)) + 1 : 0;
    }

    private static boolean blockType(String type, String withAttention, String plain, String key, Path file) throws IOException {
        if (type.equals(withAttention)) return true;
        if (type.equals(plain)) return false;
        throw new InputFileException(file + ": '" + key + "' value " + type + " has no original-checkpoint names here (known: "
                + withAttention + ", " + plain + ")");
    }

    private static String[] strings(JsonNode n, String key, String[] dflt, Path file) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt.clone();
        if (!v.isArray()) throw new InputFileException(file + ": '" + key + "' should be a list of strings, found " + v);
        String[] out = new String[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isTextual()) throw new InputFileException(file + ": '" + key + "' should be a list of strings, found " + v);
            out[i] = v.get(i).asText();
        }
        return out;
    }

    /** An int or a list of ints, one per block (diffusers accepts both). */
    private static int[] perBlock(JsonNode n, String key, int dflt, int blocks, Path file) throws IOException {
        JsonNode v = n.get(key);
        int[] out = new int[blocks];
        if (v == null || v.isNull()) {
            Arrays.fill(out, dflt);
        } else if (v.isIntegralNumber()) {
            Arrays.fill(out, v.intValue());
        } else if (v.isArray() && v.size() == blocks) {
            for (int i = 0; i < blocks; i++) {
                if (!v.get(i).isIntegralNumber()) {
                    throw new InputFileException(file + ": '" + key + "' should be an integer or a list of integers, found " + v);
                }
                out[i] = v.get(i).intValue();
            }
        } else {
            throw new InputFileException(file + ": '" + key + "' should be an integer or a list of " + blocks
                    + " integers (one per block), found " + v);
        }
        for (int x : out) {
            if (x <= 0) throw new InputFileException(file + ": '" + key + "' should be positive, found " + v);
        }
        return out;
    }
}
