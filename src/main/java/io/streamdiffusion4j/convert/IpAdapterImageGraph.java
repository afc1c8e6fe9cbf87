package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.weights.WeightSource;
import java.util.List;

/**
 * An IP-Adapter's image side as one ONNX graph: {@code pixel_values} (B, 3, S, S), already resized
 * and normalised as CLIPImageProcessor does, through the CLIP vision encoder ({@link ClipVisionGraph})
 * and the adapter's image projection (diffusers' {@code ImageProjection}: Linear to tokens x dim,
 * reshape, LayerNorm) to {@code image_tokens} (B, tokens, dim); also {@code image_embeds} and
 * {@code negative_image_tokens} (1, tokens, dim), the projection of a zero embedding, which
 * diffusers uses for the unconditional rows of classifier-free guidance.
 */
public final class IpAdapterImageGraph {
    /** ImageProjection's nn.LayerNorm default eps. */
    private static final float NORM_EPS = 1e-5f;

    private IpAdapterImageGraph() {}

    public static OnnxGraph build(WeightSource vision, ClipVisionConfig c, IpAdapterWeights adapter, boolean half) {
        if (adapter.embedDim() != c.projectionDim()) {
            throw new IllegalArgumentException(adapter.source().origin() + ": the image projection takes embeddings of "
                    + adapter.embedDim() + ", the image encoder's projection_dim is " + c.projectionDim());
        }
        OnnxGraph g = new OnnxGraph("ip_adapter_image_encoder", half);
        Layers nn = new Layers(g, vision);
        Layers ip = new Layers(g, adapter.source());
        Value pixels = g.floatInput("pixel_values", "batch_size", c.numChannels(), c.imageSize(), c.imageSize());
        Value embeds = ClipVisionGraph.imageEmbeds(nn, c, pixels);
        g.floatOutput("image_embeds", embeds, "batch_size", c.projectionDim());
        // the zero embedding projected in the same batch (each weight appears once in a graph), then split off
        Value zero = g.constant(new float[adapter.embedDim()], 1, adapter.embedDim());
        Value both = project(ip, adapter, g.op("Concat", List.of(embeds, zero), attr("axis", 0L)));
        g.floatOutput("image_tokens", g.op("Slice", both, g.longs(0), g.longs(-1), g.longs(0)),
                "batch_size", adapter.tokens(), adapter.crossAttentionDim());
        g.floatOutput("negative_image_tokens", g.op("Slice", both, g.longs(-1), g.longs(Long.MAX_VALUE), g.longs(0)),
                1, adapter.tokens(), adapter.crossAttentionDim());
        return g;
    }

    /** {@code ImageProjection.forward}: LayerNorm(reshape(proj(embeds), (B, tokens, dim))). */
    static Value project(Layers ip, IpAdapterWeights adapter, Value embeds) {
        OnnxGraph g = ip.graph();
        Value h = ip.linear(embeds, IpAdapterWeights.PROJECTION);
        h = g.op("Reshape", h, g.longs(0, adapter.tokens(), adapter.crossAttentionDim()));
        return ip.layerNorm(h, IpAdapterWeights.NORM, NORM_EPS);
    }
}
