package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The IP-Adapter's part of a UNet graph: diffusers' {@code IPAdapterAttnProcessor}, in every
 * cross-attention after the heads are merged and before {@code to_out},
 * {@code + scale * attention(q, to_k_ip(tokens), to_v_ip(tokens))}.
 *
 * <p>The image tokens and the scale come in {@code encoder_hidden_states}, as diffusers 0.24 passes
 * the tokens (concatenated after the prompt's): the adapter's UNet takes (B, L + tokens + 1, D), the
 * prompt's L rows, the style image's tokens ({@link IpAdapterImageGraph}'s output) and one row whose
 * first value is the scale. Everything the adapter adds then depends on the embeddings alone except
 * the attention with q, so the conditioning split computes the image K/V once per style image and
 * scale, as it does the prompt's; a frame pays only the extra attention. The scale multiplies
 * V_ip (softmax(q K^T) (s V) = s (softmax(q K^T) V)), so scale 0 adds exact zeros: the plain result.
 */
final class IpAdapterGraph {
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

    /** Splits the extended embeddings; returns the prompt's part (B, L, D). */
    Value split(Value context) {
        long n = weights.tokens();
        tokens = g.op("Slice", context, g.longs(-(n + 1)), g.longs(-1), g.longs(1));
        scale = g.op("Slice", context, g.longs(-1, 0), g.longs(Long.MAX_VALUE, 1), g.longs(1, 2)); // (B, 1, 1)
        return g.op("Slice", context, g.longs(0), g.longs(-(n + 1)), g.longs(1));
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
        Value v = nn.mul(nn.linear(tokens, key + ".to_v_ip"), scale);
        return nn.add(out, nn.attention(q, k, v, heads, headDim, attnScale, null));
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
