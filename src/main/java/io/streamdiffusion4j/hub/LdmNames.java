package io.streamdiffusion4j.hub;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tensor names of an original Stable Diffusion (LDM) checkpoint, with the component prefix
 * removed, mapped to diffusers names — the renaming diffusers' {@code convert_from_ckpt.py} /
 * {@code single_file_utils.py} performs:
 * <ul>
 *   <li>UNet ({@code model.diffusion_model.*}): input block {@code i >= 1} is down block
 *       {@code (i-1)/(L+1)}, slot {@code (i-1)%(L+1)} (slot {@code L} is the downsampler,
 *       {@code 0.op}); output block {@code i} is up block {@code i/(L+1)}, layer
 *       {@code i%(L+1)}, its child 0 the resnet, child 1 the attention or (with {@code conv.}) the
 *       upsampler, child 2 the upsampler; the middle block is resnet, attention, resnet;
 *       {@code L} is {@code layers_per_block}. ResBlock parts: {@code in_layers.0/2} are
 *       norm1/conv1, {@code out_layers.0/3} norm2/conv2, {@code emb_layers.1} time_emb_proj,
 *       {@code skip_connection} conv_shortcut.</li>
 *   <li>VAE ({@code first_stage_model.*}): {@code down.i.block.j} is {@code down_blocks.i.resnets.j};
 *       the decoder's {@code up.b} is {@code up_blocks.(n-1-b)} (LDM counts from the lowest
 *       resolution); {@code mid.block_1/2} are the mid resnets, {@code mid.attn_1} the mid attention
 *       ({@code norm, q, k, v, proj_out} become {@code group_norm, to_q, to_k, to_v, to_out.0}, and
 *       their 1x1 convolution kernels become Linear matrices: see {@link #isVaeAttentionMatrix});
 *       {@code norm_out} is {@code conv_norm_out}, {@code nin_shortcut} {@code conv_shortcut}.</li>
 *   <li>CLIP text encoder ({@code cond_stage_model.transformer.*}): already in transformers'
 *       names; {@code text_model.} is added where an older export lacks it.</li>
 * </ul>
 * Each method returns null for a name that does not fit the layout.
 */
final class LdmNames {
    private static final Pattern TIME = Pattern.compile("time_embed\\.([02])\\.(weight|bias)");
    private static final Pattern CONV_IN = Pattern.compile("input_blocks\\.0\\.0\\.(weight|bias)");
    private static final Pattern OUT = Pattern.compile("out\\.([02])\\.(weight|bias)");
    private static final Pattern INPUT = Pattern.compile("input_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern MIDDLE = Pattern.compile("middle_block\\.([012])\\.(.+)");
    private static final Pattern OUTPUT = Pattern.compile("output_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");

    private static final Pattern VAE_PLAIN = Pattern.compile("(encoder\\.conv_in|encoder\\.conv_out|decoder\\.conv_in|decoder\\.conv_out|quant_conv|post_quant_conv)\\.(weight|bias)");
    private static final Pattern VAE_NORM_OUT = Pattern.compile("(encoder|decoder)\\.norm_out\\.(weight|bias)");
    private static final Pattern VAE_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.block\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_DOWNSAMPLE = Pattern.compile("encoder\\.down\\.(\\d+)\\.downsample\\.conv\\.(weight|bias)");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.block\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_UPSAMPLE = Pattern.compile("decoder\\.up\\.(\\d+)\\.upsample\\.conv\\.(weight|bias)");
    private static final Pattern VAE_MID_RESNET = Pattern.compile("(encoder|decoder)\\.mid\\.block_([12])\\.(.+)");
    private static final Pattern VAE_MID_ATTN = Pattern.compile("(encoder|decoder)\\.mid\\.attn_1\\.(norm|q|k|v|proj_out)\\.(weight|bias)");
    private static final Pattern VAE_RESNET_PART = Pattern.compile("(norm1|conv1|norm2|conv2|nin_shortcut)\\.(weight|bias)");

    private LdmNames() {}

    /** @param layersPerBlock the UNet config's {@code layers_per_block} */
    static String unet(String key, int layersPerBlock) {
        Matcher m = TIME.matcher(key);
        if (m.matches()) return "time_embedding.linear_" + (m.group(1).equals("0") ? 1 : 2) + "." + m.group(2);
        m = CONV_IN.matcher(key);
        if (m.matches()) return "conv_in." + m.group(1);
        m = OUT.matcher(key);
        if (m.matches()) return (m.group(1).equals("0") ? "conv_norm_out." : "conv_out.") + m.group(2);
        int span = layersPerBlock + 1;
        m = INPUT.matcher(key);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1));
            int child = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            if (i == 0) return null;
            int block = (i - 1) / span;
            int slot = (i - 1) % span;
            if (slot == layersPerBlock) {
                return child == 0 && rest.matches("op\\.(weight|bias)")
                        ? "down_blocks." + block + ".downsamplers.0.conv." + rest.substring(3) : null;
            }
            return switch (child) {
                case 0 -> prefixed("down_blocks." + block + ".resnets." + slot + ".", resnet(rest));
                case 1 -> "down_blocks." + block + ".attentions." + slot + "." + rest;
                default -> null;
            };
        }
        m = MIDDLE.matcher(key);
        if (m.matches()) {
            String rest = m.group(2);
            return switch (m.group(1)) {
                case "0" -> prefixed("mid_block.resnets.0.", resnet(rest));
                case "1" -> "mid_block.attentions.0." + rest;
                default -> prefixed("mid_block.resnets.1.", resnet(rest));
            };
        }
        m = OUTPUT.matcher(key);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1));
            int child = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            String up = "up_blocks." + (i / span) + ".";
            int layer = i % span;
            boolean upsampler = rest.matches("conv\\.(weight|bias)");
            return switch (child) {
                case 0 -> prefixed(up + "resnets." + layer + ".", resnet(rest));
                case 1 -> upsampler ? up + "upsamplers.0." + rest : up + "attentions." + layer + "." + rest;
                case 2 -> upsampler ? up + "upsamplers.0." + rest : null;
                default -> null;
            };
        }
        return null;
    }

    /** @param upBlocks the number of decoder up blocks ({@code len(block_out_channels)} of the VAE config) */
    static String vae(String key, int upBlocks) {
        Matcher m = VAE_PLAIN.matcher(key);
        if (m.matches()) return key;
        m = VAE_NORM_OUT.matcher(key);
        if (m.matches()) return m.group(1) + ".conv_norm_out." + m.group(2);
        m = VAE_DOWN.matcher(key);
        if (m.matches()) return prefixed("encoder.down_blocks." + m.group(1) + ".resnets." + m.group(2) + ".", vaeResnet(m.group(3)));
        m = VAE_DOWNSAMPLE.matcher(key);
        if (m.matches()) return "encoder.down_blocks." + m.group(1) + ".downsamplers.0.conv." + m.group(2);
        m = VAE_UP.matcher(key);
        if (m.matches()) {
            int b = Integer.parseInt(m.group(1));
            if (b >= upBlocks) return null;
            return prefixed("decoder.up_blocks." + (upBlocks - 1 - b) + ".resnets." + m.group(2) + ".", vaeResnet(m.group(3)));
        }
        m = VAE_UPSAMPLE.matcher(key);
        if (m.matches()) {
            int b = Integer.parseInt(m.group(1));
            if (b >= upBlocks) return null;
            return "decoder.up_blocks." + (upBlocks - 1 - b) + ".upsamplers.0.conv." + m.group(2);
        }
        m = VAE_MID_RESNET.matcher(key);
        if (m.matches()) {
            return prefixed(m.group(1) + ".mid_block.resnets." + (Integer.parseInt(m.group(2)) - 1) + ".", vaeResnet(m.group(3)));
        }
        m = VAE_MID_ATTN.matcher(key);
        if (m.matches()) {
            String part = switch (m.group(2)) {
                case "norm" -> "group_norm";
                case "q" -> "to_q";
                case "k" -> "to_k";
                case "v" -> "to_v";
                default -> "to_out.0";
            };
            return m.group(1) + ".mid_block.attentions.0." + part + "." + m.group(3);
        }
        return null;
    }

    /** True for the VAE mid-attention weights that LDM stores as 1x1 convolutions and diffusers as Linear matrices. */
    static boolean isVaeAttentionMatrix(String diffusersKey) {
        return diffusersKey.matches("(encoder|decoder)\\.mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight");
    }

    /** The text encoder name, or null for buffers that are not weights ({@code position_ids}). */
    static String text(String key) {
        String k = key.startsWith("text_model.") ? key : "text_model." + key;
        return k.endsWith("embeddings.position_ids") ? null : k;
    }

    private static String resnet(String rest) {
        String[][] renames = {{"in_layers.0.", "norm1."}, {"in_layers.2.", "conv1."}, {"out_layers.0.", "norm2."},
                {"out_layers.3.", "conv2."}, {"emb_layers.1.", "time_emb_proj."}, {"skip_connection.", "conv_shortcut."}};
        for (String[] r : renames) {
            if (rest.startsWith(r[0]) && rest.substring(r[0].length()).matches("weight|bias")) {
                return r[1] + rest.substring(r[0].length());
            }
        }
        return null;
    }

    private static String vaeResnet(String rest) {
        Matcher m = VAE_RESNET_PART.matcher(rest);
        if (!m.matches()) return null;
        return (m.group(1).equals("nin_shortcut") ? "conv_shortcut" : m.group(1)) + "." + m.group(2);
    }

    private static String prefixed(String prefix, String rest) {
        return rest == null ? null : prefix + rest;
    }
}
