package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.WeightSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToIntFunction;

/**
 * The weights of an IP-Adapter in the original (h94/IP-Adapter) layout, the one diffusers'
 * {@code load_ip_adapter} reads: {@code image_proj.proj} (Linear from the image embedding to
 * num_tokens x cross_attention_dim) and {@code image_proj.norm} (LayerNorm), and per cross-attention
 * {@code ip_adapter.N.to_k_ip.weight} / {@code ip_adapter.N.to_v_ip.weight}, numbered as diffusers'
 * {@code _convert_ip_adapter_attn_to_diffusers} does: over {@code unet.attn_processors} (down blocks,
 * then up blocks, then the mid block: the UNet's module registration order), N = 1, 3, 5, ... for
 * the attn2 layers (the even numbers were the self-attention processors, which have no weights).
 *
 * <p>Only safetensors files are read: a {@code .bin} is a Python pickle, which this project does
 * not execute; the error says to use the safetensors file (h94/IP-Adapter publishes both).
 */
public final class IpAdapterWeights implements AutoCloseable {
    public static final String PROJECTION = "image_proj.proj";
    public static final String NORM = "image_proj.norm";

    private final WeightSource weights;
    private final int embedDim;
    private final int crossAttentionDim;
    private final int tokens;

    private IpAdapterWeights(WeightSource weights, int embedDim, int crossAttentionDim, int tokens) {
        this.weights = weights;
        this.embedDim = embedDim;
        this.crossAttentionDim = crossAttentionDim;
        this.tokens = tokens;
    }

    /** Opens a safetensors file; refuses pickles with an error naming the file. */
    public static IpAdapterWeights open(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".ckpt")) {
            throw new InputFileException(file + ": IP-Adapter weights in a PyTorch pickle are not read (unpickling runs code);"
                    + " use the .safetensors file of the same adapter (e.g. ip-adapter_sd15.safetensors)");
        }
        if (!Files.isRegularFile(file)) throw new InputFileException(file + ": no such IP-Adapter weight file");
        SafeTensors st = SafeTensors.open(file);
        try {
            return of(st);
        } catch (IOException | RuntimeException e) {
            st.close();
            throw e;
        }
    }

    /**
     * Why an adapter file of this name cannot be used, judged by h94/IP-Adapter's names before
     * anything is downloaded (the content is checked again by {@link #of}); null when the name is
     * not known to be unsupported.
     */
    public static String unsupportedByName(String path) {
        String p = path.replace('\\', '/').toLowerCase(Locale.ROOT);
        String name = p.substring(p.lastIndexOf('/') + 1);
        if (p.startsWith("sdxl_models/") || p.contains("/sdxl_models/") || name.contains("sdxl")) {
            return "an SDXL IP-Adapter (h94/IP-Adapter's sdxl_models/), which is not supported: only SD 1.5 / SD 2.1"
                    + " adapters (e.g. models/ip-adapter_sd15.safetensors)";
        }
        if (name.contains("plus") || name.contains("full-face") || name.contains("faceid")) {
            return "an IP-Adapter with another image projection (plus and plus-face use a Resampler, full-face and faceid"
                    + " an MLP), which is not supported: only the plain ImageProjection kind (image_proj.proj and"
                    + " image_proj.norm; e.g. models/ip-adapter_sd15.safetensors or models/ip-adapter_sd15_light.safetensors)";
        }
        if (name.contains("vit-g")) {
            return "an IP-Adapter for the ViT-bigG image encoder (sdxl_models/image_encoder), which is not supported: only"
                    + " adapters for the image_encoder/ beside them (e.g. models/ip-adapter_sd15.safetensors)";
        }
        return null;
    }

    /** Checks the image projection's weights and derives the sizes from them. */
    public static IpAdapterWeights of(WeightSource w) throws IOException {
        for (String t : new String[] {PROJECTION + ".weight", PROJECTION + ".bias", NORM + ".weight", NORM + ".bias"}) {
            if (!w.has(t)) {
                throw new InputFileException(w.origin() + ": not a supported IP-Adapter weight file: no '" + t + "'; found "
                        + projectionKind(w) + ", expected the plain IP-Adapter's ImageProjection (image_proj.proj.weight/bias,"
                        + " image_proj.norm.weight/bias) and ip_adapter.N.to_k_ip/to_v_ip (h94/IP-Adapter's ip-adapter_sd15)");
            }
        }
        int[] proj = w.shape(PROJECTION + ".weight");
        int[] norm = w.shape(NORM + ".weight");
        if (proj.length != 2 || norm.length != 1 || norm[0] <= 0 || proj[0] % norm[0] != 0) {
            throw new InputFileException(w.origin() + ": " + PROJECTION + ".weight has shape " + Arrays.toString(proj) + " and "
                    + NORM + ".weight " + Arrays.toString(norm) + "; expected [tokens * dim, embed] and [dim]");
        }
        return new IpAdapterWeights(w, proj[1], norm[0], proj[0] / norm[0]);
    }

    /** What image projection a file has, in words, for errors: the kinds h94/IP-Adapter publishes, else its image_proj.* names. */
    private static String projectionKind(WeightSource w) {
        java.util.List<String> proj = w.names().stream().filter(n -> n.startsWith("image_proj.")).sorted().toList();
        String names = proj.isEmpty() ? "no image_proj.* tensors"
                : String.join(", ", proj.subList(0, Math.min(6, proj.size()))) + (proj.size() > 6 ? ", ... (" + proj.size() + ")" : "");
        if (w.has("image_proj.latents")) return "a Resampler image projection (ip-adapter-plus / plus-face: " + names + ")";
        if (w.has("image_proj.proj.0.weight")) return "an MLP image projection (ip-adapter-full-face / faceid: " + names + ")";
        return names;
    }

    public WeightSource source() {
        return weights;
    }

    /** The image embedding size the projection takes (the image encoder's projection_dim). */
    public int embedDim() {
        return embedDim;
    }

    /** The width of the image tokens (the UNet's cross_attention_dim). */
    public int crossAttentionDim() {
        return crossAttentionDim;
    }

    /** How many image tokens each style image becomes (4 for ip-adapter_sd15). */
    public int tokens() {
        return tokens;
    }

    /** The weight-name prefix of one cross-attention's K/V projections: {@code ip_adapter.N}. */
    public static String key(int crossAttentionIndex) {
        return "ip_adapter." + (2 * crossAttentionIndex + 1);
    }

    /**
     * The UNet's cross-attention (attn2) module paths in {@code unet.attn_processors} order: down
     * blocks, up blocks, mid block (the IP-Adapter numbering).
     */
    public static List<String> crossAttentions(UnetConfig c) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < c.blockCount(); i++) {
            if (!c.downBlockTypes()[i].equals(UnetConfig.CROSS_ATTN_DOWN)) continue;
            for (int j = 0; j < c.layersPerBlock()[i]; j++) {
                for (int t = 0; t < c.transformerLayersPerBlock()[i]; t++) {
                    out.add("down_blocks." + i + ".attentions." + j + ".transformer_blocks." + t + ".attn2");
                }
            }
        }
        for (int i = 0; i < c.blockCount(); i++) {
            if (!c.upBlockTypes()[i].equals(UnetConfig.CROSS_ATTN_UP)) continue;
            for (int j = 0; j < c.upLayers(i); j++) {
                for (int t = 0; t < c.upTransformerLayers(i); t++) {
                    out.add("up_blocks." + i + ".attentions." + j + ".transformer_blocks." + t + ".attn2");
                }
            }
        }
        if (c.midBlockType() != null) {
            int last = c.blockCount() - 1;
            for (int t = 0; t < c.transformerLayersPerBlock()[last]; t++) {
                out.add("mid_block.attentions.0.transformer_blocks." + t + ".attn2");
            }
        }
        return out;
    }

    /** Checks that the file has K/V weights of the right shapes for every cross-attention of this UNet. */
    public void requireFits(UnetConfig c, ToIntFunction<String> innerDim) throws IOException {
        if (c.crossAttentionDim() != crossAttentionDim) {
            throw new InputFileException(weights.origin() + ": this IP-Adapter makes tokens of width " + crossAttentionDim
                    + ", the UNet's cross_attention_dim is " + c.crossAttentionDim() + " (an adapter for another base model?)");
        }
        List<String> attns = crossAttentions(c);
        for (int i = 0; i < attns.size(); i++) {
            for (String kv : new String[] {".to_k_ip.weight", ".to_v_ip.weight"}) {
                String name = key(i) + kv;
                if (!weights.has(name)) {
                    throw new InputFileException(weights.origin() + ": no '" + name + "' for " + attns.get(i) + " (the UNet has "
                            + attns.size() + " cross-attention layers)");
                }
                int[] s = weights.shape(name);
                int inner = innerDim.applyAsInt(attns.get(i));
                if (s.length != 2 || s[0] != inner || s[1] != crossAttentionDim) {
                    throw new InputFileException(weights.origin() + ": " + name + " has shape " + Arrays.toString(s) + ", "
                            + attns.get(i) + " needs [" + inner + ", " + crossAttentionDim + "]");
                }
            }
        }
        String extra = key(attns.size()) + ".to_k_ip.weight";
        if (weights.has(extra)) {
            throw new InputFileException(weights.origin() + ": has '" + extra + "', more cross-attention layers than the UNet's "
                    + attns.size() + " (an adapter for another base model?)");
        }
    }

    @Override
    public void close() throws IOException {
        weights.close();
    }
}
