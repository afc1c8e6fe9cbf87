package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.weights.WeightSource;
import java.util.Arrays;
import java.util.List;

/**
 * The CLIP vision encoder with its projection (transformers' {@code CLIPVisionModelWithProjection},
 * the image encoder of an IP-Adapter) as an ONNX graph: {@code pixel_values} float
 * [batch_size, channels, image_size, image_size] (already resized, cropped and normalised) to
 * {@code image_embeds} [batch_size, projection_dim]. The operations of {@code CLIPVisionTransformer.forward}
 * in transformers 4.35: a patch convolution without bias, the class embedding in front, position
 * embeddings, {@code pre_layrnorm} (transformers' spelling), the shared pre-LN encoder layers
 * ({@link ClipEncoderLayers}, no mask), {@code post_layernorm} on the class token, then the
 * bias-free {@code visual_projection}.
 */
public final class ClipVisionGraph {
    private static final String PREFIX = "vision_model.";

    private ClipVisionGraph() {}

    public static OnnxGraph build(WeightSource weights, ClipVisionConfig c, boolean half) {
        OnnxGraph g = new OnnxGraph("clip_vision_model", half);
        Layers nn = new Layers(g, weights);
        Value pixels = g.floatInput("pixel_values", "batch_size", c.numChannels(), c.imageSize(), c.imageSize());
        g.floatOutput("image_embeds", imageEmbeds(nn, c, pixels), "batch_size", c.projectionDim());
        return g;
    }

    /** {@code CLIPVisionModelWithProjection(pixels).image_embeds}, (B, projection_dim), on {@code nn}'s graph. */
    static Value imageEmbeds(Layers nn, ClipVisionConfig c, Value pixels) {
        OnnxGraph g = nn.graph();
        String p = PREFIX;
        int hidden = c.hiddenSize();
        requireShape(nn, p + "embeddings.patch_embedding.weight", hidden, c.numChannels(), c.patchSize(), c.patchSize());
        requireShape(nn, p + "embeddings.class_embedding", hidden);
        requireShape(nn, p + "embeddings.position_embedding.weight", c.positions(), hidden);
        requireShape(nn, "visual_projection.weight", c.projectionDim(), hidden);

        // patch_embedding(pixels).flatten(2).transpose(1, 2): (B, hidden, g, g) -> (B, g*g, hidden)
        Value patches = nn.conv2d(pixels, p + "embeddings.patch_embedding", c.patchSize(), 0);
        patches = g.op("Transpose", List.of(g.op("Reshape", patches, g.longs(0, hidden, -1))), attr("perm", 0L, 2L, 1L));
        // class_embedding.expand(B, 1, -1) in front of the patches
        Value batch = g.op("Shape", List.of(pixels), attr("start", 0L), attr("end", 1L));
        Value classShape = g.op("Concat", List.of(batch, g.longs(1, hidden)), attr("axis", 0L));
        Value cls = g.op("Expand", nn.weightAs(p + "embeddings.class_embedding", 1, 1, hidden), classShape);
        Value x = g.op("Concat", List.of(cls, patches), attr("axis", 1L));
        x = nn.add(x, nn.weight(p + "embeddings.position_embedding.weight"));

        float eps = (float) c.layerNormEps();
        x = nn.layerNorm(x, p + "pre_layrnorm", eps);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            x = ClipEncoderLayers.layer(nn, x, p + "encoder.layers." + i + ".", hidden, c.numAttentionHeads(),
                    c.hiddenAct(), eps, null);
        }
        // pooled output: the class token, then post_layernorm and the projection
        Value pooled = g.op("Squeeze", g.op("Gather", List.of(x, g.longs(0)), attr("axis", 1L)), g.longs(1));
        pooled = nn.layerNorm(pooled, p + "post_layernorm", eps);
        return nn.linear(pooled, "visual_projection");
    }

    private static void requireShape(Layers nn, String name, int... expected) {
        int[] s = nn.shape(name);
        if (!Arrays.equals(s, expected)) {
            throw new IllegalArgumentException(nn.weights().origin() + ": " + name + " has shape " + Arrays.toString(s)
                    + ", the image encoder's config.json implies " + Arrays.toString(expected));
        }
    }
}
