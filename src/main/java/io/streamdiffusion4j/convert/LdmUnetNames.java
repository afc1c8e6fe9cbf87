package io.streamdiffusion4j.convert;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps an original Stable Diffusion (LDM / SGM) UNet module path, in kohya's underscored form
 * ({@code input_blocks_1_1_proj_in}), to the diffusers path in the same underscored form
 * ({@code down_blocks_0_attentions_0_proj_in}), for the {@code UNet2DConditionModel} layouts of
 * SD 1.x / 2.x (and SDXL, whose blocks follow the same numbering).
 *
 * <p>The numbering follows diffusers' {@code convert_original_stable_diffusion_to_diffusers}:
 * input block {@code i >= 1} is down block {@code (i-1)/(L+1)}, slot {@code (i-1)%(L+1)} (slot
 * {@code L} is the downsampler); output block {@code i} is up block {@code i/(L+1)}, layer
 * {@code i%(L+1)}; the middle block is resnet 0, attention 0, resnet 1; {@code L} is
 * {@code layers_per_block}. Whether an output block's second child is an attention or the
 * upsampler depends on the block type, which is read off the base weights' names.
 */
final class LdmUnetNames {
    private static final Pattern INPUT = Pattern.compile("input_blocks_(\\d+)_(\\d+)(?:_(.+))?");
    private static final Pattern MIDDLE = Pattern.compile("middle_block_(\\d+)_(.+)");
    private static final Pattern OUTPUT = Pattern.compile("output_blocks_(\\d+)_(\\d+)_(.+)");

    private LdmUnetNames() {}

    /** Whether an underscored UNet path uses the original (LDM) block names. */
    static boolean isLdm(String path) {
        return path.startsWith("input_blocks_") || path.startsWith("middle_block_") || path.startsWith("output_blocks_")
                || path.startsWith("time_embed_") || path.startsWith("label_emb_") || path.equals("out_2")
                || path.equals("out_0");
    }

    /**
     * The diffusers path (underscored) for an LDM path, or null when it does not fit the layout.
     *
     * @param baseModules the underscored module paths of the base UNet (weight names without
     *                    {@code .weight}, dots replaced by underscores)
     */
    static String toDiffusers(String path, Set<String> baseModules) {
        switch (path) {
            case "time_embed_0": return "time_embedding_linear_1";
            case "time_embed_2": return "time_embedding_linear_2";
            case "label_emb_0_0": return "add_embedding_linear_1";
            case "label_emb_0_2": return "add_embedding_linear_2";
            case "out_0": return "conv_norm_out";
            case "out_2": return "conv_out";
            default: break;
        }
        int layers = layersPerBlock(baseModules);
        Matcher m = INPUT.matcher(path);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1));
            int child = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            if (i == 0) return child == 0 && rest == null ? "conv_in" : null;
            if (layers <= 0 || rest == null) return null;
            int block = (i - 1) / (layers + 1);
            int slot = (i - 1) % (layers + 1);
            if (slot == layers) {
                return child == 0 && rest.equals("op") ? "down_blocks_" + block + "_downsamplers_0_conv" : null;
            }
            return switch (child) {
                case 0 -> "down_blocks_" + block + "_resnets_" + slot + "_" + resnet(rest);
                case 1 -> "down_blocks_" + block + "_attentions_" + slot + "_" + rest;
                default -> null;
            };
        }
        m = MIDDLE.matcher(path);
        if (m.matches()) {
            String rest = m.group(2);
            return switch (Integer.parseInt(m.group(1))) {
                case 0 -> "mid_block_resnets_0_" + resnet(rest);
                case 1 -> "mid_block_attentions_0_" + rest;
                case 2 -> "mid_block_resnets_1_" + resnet(rest);
                default -> null;
            };
        }
        m = OUTPUT.matcher(path);
        if (m.matches()) {
            if (layers <= 0) return null;
            int i = Integer.parseInt(m.group(1));
            int child = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            int block = i / (layers + 1);
            int layer = i % (layers + 1);
            String up = "up_blocks_" + block + "_";
            boolean hasAttention = baseModules.stream().anyMatch(s -> s.startsWith(up + "attentions_"));
            if (child == 0) return up + "resnets_" + layer + "_" + resnet(rest);
            if (child == 1 && hasAttention) return up + "attentions_" + layer + "_" + rest;
            if (child == (hasAttention ? 2 : 1)) return up + "upsamplers_0_" + rest;
            return null;
        }
        return null;
    }

    /** ResBlock child names: {@code in_layers.2} is conv1, {@code out_layers.3} conv2, and so on. */
    private static String resnet(String rest) {
        return switch (rest) {
            case "in_layers_0" -> "norm1";
            case "in_layers_2" -> "conv1";
            case "out_layers_0" -> "norm2";
            case "out_layers_3" -> "conv2";
            case "emb_layers_1" -> "time_emb_proj";
            case "skip_connection" -> "conv_shortcut";
            default -> rest;
        };
    }

    /** {@code layers_per_block}: the number of resnets in the first down block. */
    private static int layersPerBlock(Set<String> baseModules) {
        int n = 0;
        while (true) {
            String prefix = "down_blocks_0_resnets_" + n + "_";
            if (baseModules.stream().noneMatch(s -> s.startsWith(prefix))) return n;
            n++;
        }
    }
}
