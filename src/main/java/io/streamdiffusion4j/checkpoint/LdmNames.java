package io.streamdiffusion4j.checkpoint;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntUnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that knows how the original Stable Diffusion checkpoints (CompVis LDM for SD 1.x
 * / 2.x, Stability's SGM for SDXL) name their tensors, and which diffusers names they become — the
 * renaming of diffusers' {@code convert_from_ckpt.py} / {@code single_file_utils.py}. Its users:
 * single-file checkpoints ({@link SingleFileCheckpoint}, dotted tensor names) and kohya-style
 * LoRAs ({@code convert.LoraMerge}, underscored module paths such as {@code input_blocks_4_1_proj_in}).
 *
 * <p><b>UNet</b> ({@code model.diffusion_model.*}); the numbering is a function of the
 * {@link UnetLayout}, so SD 1.x, SD 2.x and SDXL share it:
 * <ul>
 *   <li>{@code input_blocks.0.0} is {@code conv_in}; then each down block {@code b} takes
 *       {@code layersPerBlock[b]} input blocks (child 0 the resnet, child 1 the attention where the
 *       block has them) and, except the last, one more for its downsampler ({@code 0.op}). With
 *       SD 1.x's four levels of two layers that is {@code input_blocks.1-3, 4-6, 7-9, 10-11}; with
 *       SDXL's three, {@code 1-3, 4-6, 7-8}.</li>
 *   <li>{@code middle_block.0/1/2}: resnet, attention, resnet.</li>
 *   <li>each up block {@code b} takes one output block per layer ({@code layersPerBlock + 1}):
 *       child 0 the resnet, child 1 the attention where the block has them, and on its last layer
 *       (except in the last up block) the next child is the upsampler ({@code conv}).</li>
 *   <li>attentions keep their inner names ({@code proj_in}, {@code transformer_blocks.N.attn1.to_q},
 *       ...); {@code N} must be below the block's transformer depth (SDXL: 2 and 10).</li>
 *   <li>ResBlock parts: {@code in_layers.0/2} are norm1/conv1, {@code out_layers.0/3} norm2/conv2,
 *       {@code emb_layers.1} time_emb_proj, {@code skip_connection} conv_shortcut;
 *       {@code time_embed.0/2} are {@code time_embedding.linear_1/2}, {@code out.0/2}
 *       {@code conv_norm_out}/{@code conv_out}, and SDXL's {@code label_emb.0.0/0.2}
 *       {@code add_embedding.linear_1/2}.</li>
 * </ul>
 * A name the layout does not have (an attention in a block without them, the last down block's
 * downsampler, a transformer block past the depth, a part no block of that kind has) maps to null. Indices past the layout's last
 * block are numbered as if more blocks like the last followed (what the original code's
 * {@code (i-1)/(layers+1)} gives): the name then addresses a block this model lacks, which the
 * caller reports as a weight the model does not have, naming it.
 *
 * <p><b>VAE</b> ({@code first_stage_model.*}): {@code down.i.block.j} is
 * {@code down_blocks.i.resnets.j}; the decoder's {@code up.b} is {@code up_blocks.(n-1-b)} (LDM
 * counts from the lowest resolution); {@code mid.block_1/2} are the mid resnets, {@code mid.attn_1}
 * the mid attention ({@code norm, q, k, v, proj_out} become {@code group_norm, to_q, to_k, to_v,
 * to_out.0}, and their 1x1 convolution kernels become Linear matrices: see
 * {@link #isVaeAttentionMatrix}); {@code norm_out} is {@code conv_norm_out}, {@code nin_shortcut}
 * {@code conv_shortcut}.
 *
 * <p><b>CLIP text encoder</b> ({@code cond_stage_model.transformer.*} in SD 1.x, SDXL's first
 * encoder {@code conditioner.embedders.0.transformer.*}): already in transformers' names;
 * {@code text_model.} is added where an older export lacks it. The OpenCLIP encoders (SD 2.x
 * {@code cond_stage_model.model.*}, SDXL's second {@code conditioner.embedders.1.model.*}) store
 * attention as one fused {@code in_proj}, split into transformers' {@code q_proj, k_proj, v_proj}
 * (the thirds of its rows, in that order), and their {@code text_projection} is the transpose of
 * transformers' {@code text_projection.weight}: see {@link #openClipText} (as diffusers'
 * {@code convert_open_clip_checkpoint} in {@code loaders/single_file_utils.py} maps them).
 */
public final class LdmNames {
    /** Component prefixes of an original checkpoint. */
    public static final String UNET = "model.diffusion_model.";
    public static final String VAE = "first_stage_model.";
    public static final String TEXT = "cond_stage_model.transformer.";
    /** SD 2.x: the OpenCLIP ViT-H text encoder. */
    public static final String OPENCLIP_TEXT = "cond_stage_model.model.";
    /** SDXL (SGM): the conditioners; {@link #SGM_TEXT} and {@link #SGM_TEXT_2} are the two text encoders. */
    public static final String SGM_CONDITIONER = "conditioner.embedders.";
    public static final String SGM_TEXT = "conditioner.embedders.0.transformer.";
    public static final String SGM_TEXT_2 = "conditioner.embedders.1.model.";

    private final UnetLayout layout;

    public LdmNames(UnetLayout layout) {
        this.layout = layout;
    }

    public UnetLayout layout() {
        return layout;
    }

    /**
     * The diffusers name of a UNet tensor ({@code input_blocks.4.1.proj_in.weight}, without the
     * {@link #UNET} prefix), or null when it does not fit the layout.
     */
    public String unet(String key) {
        int dot = key.lastIndexOf('.');
        if (dot <= 0) return null;
        String param = key.substring(dot + 1);
        if (!param.equals("weight") && !param.equals("bias")) return null;
        String module = map(key.substring(0, dot), DOTTED);
        return module == null ? null : module + "." + param;
    }

    /**
     * The diffusers module path, underscored, of a UNet module path in kohya's underscored form
     * ({@code input_blocks_1_1_proj_in} to {@code down_blocks_0_attentions_0_proj_in}), or null
     * when it does not fit the layout.
     */
    public String unetModule(String underscored) {
        return map(underscored, UNDERSCORED);
    }

    /** Whether an underscored UNet module path uses the original block names. */
    public static boolean isOriginalUnetModule(String path) {
        return path.startsWith("input_blocks_") || path.startsWith("middle_block_") || path.startsWith("output_blocks_")
                || path.startsWith("time_embed_") || path.startsWith("label_emb_") || path.equals("out_2")
                || path.equals("out_0");
    }

    // ---------------------------------------------------------------------------------------
    // UNet

    /** The module names that are not numbered by blocks, in dotted form (LDM -> diffusers). */
    private static final Map<String, String> PLAIN = new LinkedHashMap<>();
    /** ResBlock parts (LDM -> diffusers). */
    private static final Map<String, String> RESNET = new LinkedHashMap<>();
    /** The parts of an attention besides its transformer blocks (single words in both spellings). */
    private static final Set<String> ATTENTION_PARTS = Set.of("norm", "proj_in", "proj_out");
    private static final Map<String, String> ADD_EMBEDDING = Map.of(
            "label_emb.0.0", "add_embedding.linear_1",
            "label_emb.0.2", "add_embedding.linear_2");

    static {
        PLAIN.put("input_blocks.0.0", "conv_in");
        PLAIN.put("time_embed.0", "time_embedding.linear_1");
        PLAIN.put("time_embed.2", "time_embedding.linear_2");
        PLAIN.put("out.0", "conv_norm_out");
        PLAIN.put("out.2", "conv_out");
        RESNET.put("in_layers.0", "norm1");
        RESNET.put("in_layers.2", "conv1");
        RESNET.put("out_layers.0", "norm2");
        RESNET.put("out_layers.3", "conv2");
        RESNET.put("emb_layers.1", "time_emb_proj");
        RESNET.put("skip_connection", "conv_shortcut");
    }

    /** The two spellings of a module path: dotted (checkpoints) and underscored (kohya LoRAs). */
    private record Syntax(String sep, Pattern input, Pattern middle, Pattern output, Pattern transformer,
                          Map<String, String> plain, Map<String, String> addEmbedding, Map<String, String> resnet) {
        static Syntax of(char separator) {
            String sep = String.valueOf(separator);
            String q = Pattern.quote(sep);
            return new Syntax(sep,
                    Pattern.compile("input_blocks" + q + "(\\d+)" + q + "(\\d+)(?:" + q + "(.+))?"),
                    Pattern.compile("middle_block" + q + "(\\d+)" + q + "(.+)"),
                    Pattern.compile("output_blocks" + q + "(\\d+)" + q + "(\\d+)" + q + "(.+)"),
                    Pattern.compile("transformer_blocks" + q + "(\\d+)(?:" + q + ".*)?"),
                    spelled(PLAIN, sep), spelled(ADD_EMBEDDING, sep), spelled(RESNET, sep));
        }

        private static Map<String, String> spelled(Map<String, String> dotted, String sep) {
            Map<String, String> out = new LinkedHashMap<>();
            dotted.forEach((k, v) -> out.put(k.replace(".", sep), v.replace(".", sep)));
            return Map.copyOf(out);
        }

        /** A diffusers module path written in dots, in this spelling, followed by {@code part}. */
        String join(String dottedHead, String part) {
            return dottedHead.replace(".", sep) + sep + part;
        }
    }

    private static final Syntax DOTTED = Syntax.of('.');
    private static final Syntax UNDERSCORED = Syntax.of('_');

    /** Where a numbered input or output block falls: block, position in it, and whether the layout has the block. */
    private record Place(int block, int position, boolean known) {}

    private String map(String module, Syntax s) {
        String plain = s.plain().get(module);
        if (plain != null) return plain;
        String added = s.addEmbedding().get(module);
        if (added != null) return layout.addEmbedding() ? added : null;
        Matcher m = s.input().matcher(module);
        if (m.matches()) return input(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(3), s);
        m = s.middle().matcher(module);
        if (m.matches()) return middle(Integer.parseInt(m.group(1)), m.group(2), s);
        m = s.output().matcher(module);
        if (m.matches()) return output(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(3), s);
        return null;
    }

    private String input(int i, int child, String rest, Syntax s) {
        if (i == 0 || rest == null) return null;   // input_blocks.0.0 (conv_in) is a plain name
        int[] layers = layout.layersPerBlock();
        int n = layers.length;
        // down block b: layers[b] resnet slots, then a downsampler slot except in the last block
        Place p = place(i - 1, b -> layers[b] + (b < n - 1 ? 1 : 0), layers[n - 1] + 1);
        int slots = p.known() ? layers[p.block()] : layers[n - 1];
        String block = "down_blocks." + p.block();
        if (p.position() == slots) {
            if (p.known() && p.block() == n - 1) return null;
            return child == 0 && rest.equals("op") ? (block + ".downsamplers.0.conv").replace(".", s.sep()) : null;
        }
        return switch (child) {
            case 0 -> resnet(block + ".resnets." + p.position(), rest, s);
            case 1 -> attention(block + ".attentions." + p.position(), rest, p.known() ? layout.downDepth()[p.block()] : -1, s);
            default -> null;
        };
    }

    private String middle(int child, String rest, Syntax s) {
        if (layout.midDepth() == 0) return null;
        return switch (child) {
            case 0 -> resnet("mid_block.resnets.0", rest, s);
            case 1 -> attention("mid_block.attentions.0", rest, layout.midDepth(), s);
            case 2 -> resnet("mid_block.resnets.1", rest, s);
            default -> null;
        };
    }

    private String output(int i, int child, String rest, Syntax s) {
        int n = layout.blockCount();
        Place p = place(i, layout::upLayers, layout.upLayers(n - 1));
        String block = "up_blocks." + p.block();
        int layers = p.known() ? layout.upLayers(p.block()) : layout.upLayers(n - 1);
        boolean upsampler = p.position() == layers - 1 && !(p.known() && p.block() == n - 1) && rest.equals("conv");
        // past the layout the block type is unknown: a 'conv' child is an upsampler, anything else an attention
        boolean attention = p.known() ? layout.upDepth()[p.block()] > 0 : !rest.equals("conv");
        if (child == 0) return resnet(block + ".resnets." + p.position(), rest, s);
        if (child == 1 && attention) {
            return attention(block + ".attentions." + p.position(), rest, p.known() ? layout.upDepth()[p.block()] : -1, s);
        }
        if (child == (attention ? 2 : 1) && upsampler) return (block + ".upsamplers.0.conv").replace(".", s.sep());
        return null;
    }

    /**
     * The block and position of entry {@code index} (0-based) in a run of blocks of the given
     * sizes; past the layout, blocks of {@code sizePast} entries follow.
     */
    private Place place(int index, IntUnaryOperator size, int sizePast) {
        int n = layout.blockCount();
        int start = 0;
        for (int b = 0; b < n; b++) {
            int len = size.applyAsInt(b);
            if (index < start + len) return new Place(b, index - start, true);
            start += len;
        }
        int lastStart = start - size.applyAsInt(n - 1);
        int past = index - lastStart;
        int block = n - 1 + past / sizePast;
        // still in the last block: a slot it does not have (the last down block's downsampler)
        return new Place(block, past % sizePast, block == n - 1);
    }

    private static String resnet(String dottedHead, String rest, Syntax s) {
        String part = s.resnet().get(rest);
        return part == null ? null : s.join(dottedHead, part);
    }

    /**
     * An attention (SpatialTransformer / Transformer2DModel) part: {@code norm}, {@code proj_in},
     * {@code proj_out} or inside {@code transformer_blocks.N}, which keep their names.
     *
     * @param depth the attention's transformer depth (0: the block has no attention; -1: unknown)
     */
    private static String attention(String dottedHead, String rest, int depth, Syntax s) {
        if (depth == 0) return null;
        Matcher t = s.transformer().matcher(rest);
        if (t.matches()) {
            if (depth > 0 && Integer.parseInt(t.group(1)) >= depth) return null;
        } else if (!ATTENTION_PARTS.contains(rest)) {
            return null;
        }
        return s.join(dottedHead, rest);
    }

    // ---------------------------------------------------------------------------------------
    // VAE

    private static final Pattern VAE_PLAIN = Pattern.compile("(encoder\\.conv_in|encoder\\.conv_out|decoder\\.conv_in|decoder\\.conv_out|quant_conv|post_quant_conv)\\.(weight|bias)");
    private static final Pattern VAE_NORM_OUT = Pattern.compile("(encoder|decoder)\\.norm_out\\.(weight|bias)");
    private static final Pattern VAE_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.block\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_DOWNSAMPLE = Pattern.compile("encoder\\.down\\.(\\d+)\\.downsample\\.conv\\.(weight|bias)");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.block\\.(\\d+)\\.(.+)");
    private static final Pattern VAE_UPSAMPLE = Pattern.compile("decoder\\.up\\.(\\d+)\\.upsample\\.conv\\.(weight|bias)");
    private static final Pattern VAE_MID_RESNET = Pattern.compile("(encoder|decoder)\\.mid\\.block_([12])\\.(.+)");
    private static final Pattern VAE_MID_ATTN = Pattern.compile("(encoder|decoder)\\.mid\\.attn_1\\.(norm|q|k|v|proj_out)\\.(weight|bias)");
    private static final Pattern VAE_RESNET_PART = Pattern.compile("(norm1|conv1|norm2|conv2|nin_shortcut)\\.(weight|bias)");
    private static final Pattern VAE_ATTENTION_MATRIX =
            Pattern.compile("(encoder|decoder)\\.mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight");

    /**
     * The diffusers name of a VAE tensor (without the {@link #VAE} prefix), or null when it does not fit.
     *
     * @param upBlocks the number of decoder up blocks ({@code len(block_out_channels)} of the VAE config)
     */
    public static String vae(String key, int upBlocks) {
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
    public static boolean isVaeAttentionMatrix(String diffusersKey) {
        return VAE_ATTENTION_MATRIX.matcher(diffusersKey).matches();
    }

    private static String vaeResnet(String rest) {
        Matcher m = VAE_RESNET_PART.matcher(rest);
        if (!m.matches()) return null;
        return (m.group(1).equals("nin_shortcut") ? "conv_shortcut" : m.group(1)) + "." + m.group(2);
    }

    private static String prefixed(String prefix, String rest) {
        return rest == null ? null : prefix + rest;
    }

    // ---------------------------------------------------------------------------------------
    // CLIP text encoder

    /**
     * The transformers name of a CLIP text encoder tensor (without its {@link #TEXT} or
     * {@link #SGM_TEXT} prefix), or null for buffers that are not weights ({@code position_ids}).
     */
    public static String text(String key) {
        String k = key.startsWith("text_model.") ? key : "text_model." + key;
        return k.endsWith("embeddings.position_ids") ? null : k;
    }

    // ---------------------------------------------------------------------------------------
    // OpenCLIP text encoder

    /** How an OpenCLIP tensor becomes a transformers one: whole, one third of its rows, or transposed. */
    public enum Take { WHOLE, FIRST_THIRD, SECOND_THIRD, LAST_THIRD, TRANSPOSED }

    /** A transformers tensor made from an OpenCLIP one. */
    public record OpenClipTarget(String name, Take take) {}

    private static final Pattern OPENCLIP_LAYER = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\.(.+)");
    private static final Map<String, String> OPENCLIP_LAYER_PARTS = Map.of(
            "ln_1.weight", "layer_norm1.weight", "ln_1.bias", "layer_norm1.bias",
            "ln_2.weight", "layer_norm2.weight", "ln_2.bias", "layer_norm2.bias",
            "attn.out_proj.weight", "self_attn.out_proj.weight", "attn.out_proj.bias", "self_attn.out_proj.bias",
            "mlp.c_fc.weight", "mlp.fc1.weight", "mlp.c_fc.bias", "mlp.fc1.bias",
            "mlp.c_proj.weight", "mlp.fc2.weight", "mlp.c_proj.bias", "mlp.fc2.bias");

    /**
     * The transformers tensors of an OpenCLIP text tower tensor (without its {@link #OPENCLIP_TEXT}
     * or {@link #SGM_TEXT_2} prefix): one, or three for a fused {@code in_proj}; an empty list for
     * what is not a text-encoder weight ({@code logit_scale}, the {@code attn_mask} buffer); null
     * when the name is not an OpenCLIP text tower's.
     */
    public static List<OpenClipTarget> openClipText(String key) {
        switch (key) {
            case "token_embedding.weight":
                return List.of(new OpenClipTarget("text_model.embeddings.token_embedding.weight", Take.WHOLE));
            case "positional_embedding":
                return List.of(new OpenClipTarget("text_model.embeddings.position_embedding.weight", Take.WHOLE));
            case "ln_final.weight":
                return List.of(new OpenClipTarget("text_model.final_layer_norm.weight", Take.WHOLE));
            case "ln_final.bias":
                return List.of(new OpenClipTarget("text_model.final_layer_norm.bias", Take.WHOLE));
            case "text_projection":
                return List.of(new OpenClipTarget("text_projection.weight", Take.TRANSPOSED));
            case "logit_scale", "attn_mask":
                return List.of();
            default:
                break;
        }
        Matcher m = OPENCLIP_LAYER.matcher(key);
        if (!m.matches()) return null;
        String layer = "text_model.encoder.layers." + m.group(1) + ".self_attn.";
        String rest = m.group(2);
        if (rest.equals("attn.in_proj_weight") || rest.equals("attn.in_proj_bias")) {
            String param = rest.endsWith("weight") ? "weight" : "bias";
            return List.of(new OpenClipTarget(layer + "q_proj." + param, Take.FIRST_THIRD),
                    new OpenClipTarget(layer + "k_proj." + param, Take.SECOND_THIRD),
                    new OpenClipTarget(layer + "v_proj." + param, Take.LAST_THIRD));
        }
        String part = OPENCLIP_LAYER_PARTS.get(rest);
        return part == null ? null
                : List.of(new OpenClipTarget("text_model.encoder.layers." + m.group(1) + "." + part, Take.WHOLE));
    }
}
