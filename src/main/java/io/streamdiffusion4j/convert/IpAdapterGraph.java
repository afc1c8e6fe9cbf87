package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The IP-Adapter's part of a UNet graph (diffusers' {@code ImageProjection} and
 * {@code IPAdapterAttnProcessor}): two extra graph inputs, {@code image_embeds} float
 * [batch_size, embed_dim] (the CLIP image encoder's output; zeros for the unconditional rows) and
 * {@code ip_adapter_scale} float [1]; the image projection {@code LayerNorm(reshape(proj(image_embeds),
 * (B, tokens, dim)))}; and in every cross-attention, after the heads are merged and before
 * {@code to_out}, {@code + scale * attention(q, to_k_ip(tokens), to_v_ip(tokens))}.
 *
 * <p>The projection and the K/V projections depend on {@code image_embeds} alone, so the
 * conditioning split computes them once per style image, as it does the prompt's K and V; the
 * scale is read by the per-frame graph only, so changing it costs nothing.
 */
final class IpAdapterGraph {
    static final String IMAGE_EMBEDS = "image_embeds";
    static final String SCALE = "ip_adapter_scale";
    /** ImageProjection's nn.LayerNorm default eps. */
    private static final float NORM_EPS = 1e-5f;

    private final OnnxGraph g;
    private final Layers nn;
    private final IpAdapterWeights weights;
    private final Map<String, Integer> index = new HashMap<>();
    private Value tokens;
    private Value scale;

    IpAdapterGraph(OnnxGraph g, IpAdapterWeights weights, UnetConfig c) {
        this.g = g;
        this.nn = new Layers(g, weights.source());
        this.weights = weights;
        List<String> attns = IpAdapterWeights.crossAttentions(c);
        for (int i = 0; i < attns.size(); i++) index.put(attns.get(i), i);
    }

    /** Declares the two inputs and projects the image embeddings to tokens (B, tokens, dim). */
    void inputs() {
        Value embeds = g.floatInput(IMAGE_EMBEDS, "batch_size", weights.embedDim());
        scale = g.floatInput(SCALE, 1);
        Value h = nn.linear(embeds, IpAdapterWeights.PROJECTION);
        h = g.op("Reshape", h, g.longs(0, weights.tokens(), weights.crossAttentionDim()));
        tokens = nn.layerNorm(h, IpAdapterWeights.NORM, NORM_EPS);
    }

    /**
     * {@code hidden_states + scale * ip_hidden_states} of IPAdapterAttnProcessor, for the
     * cross-attention at {@code prefix} whose merged-head output (before to_out) is {@code out}.
     */
    Value addDecoupled(String prefix, Value q, Value out, int heads, int headDim, float attnScale) {
        Integer i = index.get(prefix);
        if (i == null) throw new IllegalStateException("no IP-Adapter weights numbered for " + prefix);
        String key = IpAdapterWeights.key(i);
        Value k = nn.linear(tokens, key + ".to_k_ip");
        Value v = nn.linear(tokens, key + ".to_v_ip");
        Value ip = nn.attention(q, k, v, heads, headDim, attnScale, null);
        return nn.add(out, nn.mul(ip, scale));
    }

    /** Checks the adapter against the UNet's weights (every attn2's inner width) before building. */
    static void check(IpAdapterWeights ip, UnetConfig c, Layers unet) {
        try {
            ip.requireFits(c, prefix -> unet.shape(prefix + ".to_q.weight")[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
