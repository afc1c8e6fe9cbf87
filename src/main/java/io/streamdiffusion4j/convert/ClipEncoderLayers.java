package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * The pre-LN transformer layer both CLIP towers share (transformers' {@code CLIPEncoderLayer}):
 * x + self_attn(layer_norm1(x)), then x + mlp(layer_norm2(x)) with fc1 / activation / fc2. The
 * attention ({@code CLIPAttention}) scales q by head_dim^-0.5 before q k^T and adds an optional
 * additive mask (the text tower's causal one; the vision tower has none).
 */
final class ClipEncoderLayers {

    /** The encoder settings both CLIP towers' configs share, read and checked once. */
    record Settings(int hiddenSize, int numAttentionHeads, String hiddenAct, int numHiddenLayers) {}

    /**
     * Reads {@code hidden_size}, {@code num_attention_heads}, {@code hidden_act} and
     * {@code num_hidden_layers} from a CLIP tower's config node (defaults where absent) and checks
     * them; errors name {@code file} and the key.
     */
    static Settings settings(JsonNode n, Settings defaults, Path file) throws java.io.IOException {
        int hidden = ConfigFiles.integer(n, "hidden_size", defaults.hiddenSize(), file);
        int heads = ConfigFiles.integer(n, "num_attention_heads", defaults.numAttentionHeads(), file);
        String act = ConfigFiles.text(n, "hidden_act", defaults.hiddenAct());
        if (!act.equals("gelu") && !act.equals("quick_gelu")) {
            throw new InputFileException(file + ": 'hidden_act' is '" + act + "', supported are 'gelu' and 'quick_gelu'");
        }
        if (hidden <= 0 || heads <= 0 || hidden % heads != 0) {
            throw new InputFileException(file + ": 'hidden_size' " + hidden + " is not divisible by 'num_attention_heads' " + heads);
        }
        int layers = ConfigFiles.integer(n, "num_hidden_layers", defaults.numHiddenLayers(), file);
        if (layers < 0) throw new InputFileException(file + ": 'num_hidden_layers' should not be negative, found " + layers);
        return new Settings(hidden, heads, act, layers);
    }
    private ClipEncoderLayers() {}

    /**
     * One {@code CLIPEncoderLayer} on (B, L, hidden).
     *
     * @param prefix the layer's module path, e.g. {@code text_model.encoder.layers.3.}
     * @param act {@code gelu} (erf form) or {@code quick_gelu}
     * @param mask an additive mask broadcastable to (B, heads, L, L), or null
     */
    static Value layer(Layers nn, Value x, String prefix, int hidden, int heads, String act, float eps, Value mask) {
        Value h = nn.layerNorm(x, prefix + "layer_norm1", eps);
        h = selfAttention(nn, h, prefix + "self_attn", hidden, heads, mask);
        x = nn.add(x, h);
        h = nn.layerNorm(x, prefix + "layer_norm2", eps);
        h = nn.linear(h, prefix + "mlp.fc1");
        h = act.equals("quick_gelu") ? nn.quickGelu(h) : nn.gelu(h);
        h = nn.linear(h, prefix + "mlp.fc2");
        return nn.add(x, h);
    }

    /** {@code CLIPAttention}: q scaled before q k^T, the additive mask if any, softmax, out_proj. */
    private static Value selfAttention(Layers nn, Value x, String prefix, int hidden, int heads, Value mask) {
        OnnxGraph g = nn.graph();
        int headDim = hidden / heads;
        Value q = g.op("Mul", nn.linear(x, prefix + ".q_proj"), g.scalar((float) Math.pow(headDim, -0.5)));
        Value k = nn.linear(x, prefix + ".k_proj");
        Value v = nn.linear(x, prefix + ".v_proj");
        Value qh = g.op("Transpose", List.of(g.op("Reshape", q, g.longs(0, 0, heads, headDim))), attr("perm", 0, 2, 1, 3));
        Value kh = g.op("Transpose", List.of(g.op("Reshape", k, g.longs(0, 0, heads, headDim))), attr("perm", 0, 2, 3, 1));
        Value vh = g.op("Transpose", List.of(g.op("Reshape", v, g.longs(0, 0, heads, headDim))), attr("perm", 0, 2, 1, 3));
        Value scores = g.op("MatMul", qh, kh);
        if (mask != null) scores = g.op("Add", scores, mask);
        Value probs = g.op("Softmax", List.of(scores), attr("axis", -1L));
        Value out = g.op("Transpose", List.of(g.op("MatMul", probs, vh)), attr("perm", 0, 2, 1, 3));
        out = g.op("Reshape", out, g.longs(0, 0, hidden));
        return nn.linear(out, prefix + ".out_proj");
    }
}
