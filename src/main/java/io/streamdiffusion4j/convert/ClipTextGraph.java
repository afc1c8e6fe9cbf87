package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.weights.WeightSource;
import java.util.Arrays;
import java.util.List;

/**
 * The CLIP text encoder (transformers' {@code CLIPTextModel}) as an ONNX graph with Optimum's
 * I/O names: {@code input_ids} int32 [batch_size, sequence_length] to {@code last_hidden_state}
 * (after the final LayerNorm) and {@code pooler_output} (the hidden state at the end-of-text
 * token). The same operations as {@code CLIPTextTransformer.forward} in transformers 4.35: token
 * plus position embeddings, a causal additive mask of {@code finfo.min}, pre-LN encoder layers
 * whose attention scales q by head_dim^-0.5 before q k^T, and an MLP fc1 / activation / fc2.
 *
 * <p>Weights are taken by their module names ({@code text_model.embeddings.token_embedding.weight},
 * ...); files without the {@code text_model.} prefix are accepted too. Any sequence length up to
 * {@code max_position_embeddings} works.
 */
public final class ClipTextGraph {
    private static final String PREFIX = "text_model.";

    private ClipTextGraph() {}

    public static OnnxGraph build(WeightSource weights, ClipTextConfig c, boolean half) {
        return build(weights, c, half, false);
    }

    /**
     * @param sdxlOutputs also output what Stable Diffusion XL reads (see {@link SdxlTextEncoders}):
     *     the penultimate hidden state as {@code hidden_states.<layers - 1>} (Optimum's name for
     *     {@code hidden_states[-2]}: the output of the last-but-one layer, no final LayerNorm), and,
     *     when the weights have a {@code text_projection} ({@code CLIPTextModelWithProjection}),
     *     {@code text_embeds}: the pooled output times the projection (no bias)
     */
    public static OnnxGraph build(WeightSource weights, ClipTextConfig c, boolean half, boolean sdxlOutputs) {
        OnnxGraph g = new OnnxGraph("clip_text_model", half);
        Layers nn = new Layers(g, weights);
        String p = prefix(weights);

        String tokenName = p + "embeddings.token_embedding.weight";
        String positionName = p + "embeddings.position_embedding.weight";
        int[] tokenShape = nn.shape(tokenName);
        int[] positionShape = nn.shape(positionName);
        if (tokenShape.length != 2 || tokenShape[1] != c.hiddenSize()) {
            throw new IllegalArgumentException(weights.origin() + ": " + tokenName + " has shape " + Arrays.toString(tokenShape)
                    + ", the config says hidden_size " + c.hiddenSize());
        }
        if (positionShape.length != 2 || positionShape[1] != c.hiddenSize()) {
            throw new IllegalArgumentException(weights.origin() + ": " + positionName + " has shape "
                    + Arrays.toString(positionShape) + ", the config says hidden_size " + c.hiddenSize());
        }
        int positions = positionShape[0];

        Value ids = g.input("input_ids", TensorProto.DataType.INT32_VALUE, "batch_size", "sequence_length");
        Value length = g.op("Slice", g.op("Shape", ids), g.longs(1), g.longs(2), g.longs(0)); // [L]

        // embeddings: token_embedding(ids) + position_embedding(arange(L))
        Value tokens = g.op("Gather", nn.weight(tokenName), ids);
        Value pos = g.op("Slice", nn.weight(positionName), g.longs(0), length, g.longs(0));
        Value x = g.op("Add", tokens, pos);

        // causal mask: finfo(dtype).min above the diagonal, 0 elsewhere, cut to [L, L]
        float min = half ? -65504f : -Float.MAX_VALUE;
        float[] mask = new float[positions * positions];
        for (int i = 0; i < positions; i++) {
            for (int j = i + 1; j < positions; j++) mask[i * positions + j] = min;
        }
        Value causal = g.op("Slice", g.constant(mask, positions, positions), g.longs(0, 0),
                g.op("Concat", List.of(length, length), attr("axis", 0L)), g.longs(0, 1));

        float eps = (float) c.layerNormEps();
        Value penultimate = c.numHiddenLayers() == 0 ? null : x;
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            if (i == c.numHiddenLayers() - 1) penultimate = x;
            x = ClipEncoderLayers.layer(nn, x, p + "encoder.layers." + i + ".", c.hiddenSize(), c.numAttentionHeads(),
                    c.hiddenAct(), eps, causal);
        }
        Value last = nn.layerNorm(x, p + "final_layer_norm", eps);

        // pooled output: the hidden state at the end-of-text token of each row
        Value eosIndex;
        if (c.legacyPooling()) {
            // transformers 4.35 with eos_token_id == 2: argmax(input_ids), the first highest id (49407)
            eosIndex = g.op("ArgMax", List.of(ids), attr("axis", -1L), attr("keepdims", 1L));
        } else {
            // the first position holding eos_token_id
            Value isEos = g.op("Equal", g.cast(ids, TensorProto.DataType.INT64_VALUE), g.longs(new long[] {c.eosTokenId()}, 1));
            eosIndex = g.op("ArgMax", List.of(g.cast(isEos, TensorProto.DataType.INT32_VALUE)),
                    attr("axis", -1L), attr("keepdims", 1L));
        }
        Value index = g.op("Expand", g.op("Unsqueeze", eosIndex, g.longs(2)), g.longs(1, 1, c.hiddenSize())); // [B, 1, C]
        Value pooled = g.op("GatherElements", List.of(last, index), attr("axis", 1L));
        pooled = g.op("Squeeze", pooled, g.longs(1));

        g.floatOutput("last_hidden_state", last, "batch_size", "sequence_length", c.hiddenSize());
        g.floatOutput("pooler_output", pooled, "batch_size", c.hiddenSize());
        if (sdxlOutputs) {
            if (penultimate == null) {
                throw new IllegalArgumentException(weights.origin() + ": a text encoder without layers has no penultimate hidden state");
            }
            g.floatOutput(SdxlTextEncoders.penultimateOutput(c.numHiddenLayers()), penultimate,
                    "batch_size", "sequence_length", c.hiddenSize());
            String projection = SdxlTextEncoders.PROJECTION + ".weight";
            if (weights.has(projection)) {
                int[] s = nn.shape(projection);
                g.floatOutput(SdxlTextEncoders.TEXT_EMBEDS, nn.linear(pooled, SdxlTextEncoders.PROJECTION), "batch_size", s[0]);
            }
        }
        return g;
    }

    /** {@code text_model.} when the weights use it, else no prefix. */
    static String prefix(WeightSource weights) {
        if (weights.has(PREFIX + "embeddings.token_embedding.weight")) return PREFIX;
        if (weights.has("embeddings.token_embedding.weight")) return "";
        return PREFIX; // the missing-tensor error then names the usual module path
    }
}
