package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.weights.WeightSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/**
 * Neural-network building blocks over an {@link OnnxGraph}, with weights taken by their
 * PyTorch module names from a {@link WeightSource} (diffusers / transformers naming). Each block
 * emits the same operations PyTorch's exporter emits for the module, so converted graphs agree
 * with torch-exported ones to float32 rounding.
 */
public final class Layers {
    private final OnnxGraph g;
    private final WeightSource weights;

    public Layers(OnnxGraph g, WeightSource weights) {
        this.g = g;
        this.weights = weights;
    }

    public OnnxGraph graph() {
        return g;
    }

    public WeightSource weights() {
        return weights;
    }

    public boolean has(String name) {
        return weights.has(name);
    }

    /** The stored shape of a weight; a missing weight is an error naming the source. */
    public int[] shape(String name) {
        try {
            return weights.shape(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private float[] read(String name) {
        try {
            return weights.floats(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A weight as stored, under its module name. */
    public Value weight(String name) {
        return weightAs(name, shape(name));
    }

    /** A weight reshaped (same values, another shape), e.g. a norm's [C] as [C, 1, 1]. */
    public Value weightAs(String name, int... shape) {
        int[] stored = shape(name);
        if (numel(stored) != numel(shape)) {
            throw new IllegalArgumentException(weights.origin() + ": " + name + " has shape " + Arrays.toString(stored)
                    + ", cannot view as " + Arrays.toString(shape));
        }
        String graphName = Arrays.equals(stored, shape) ? name : name + "." + shapeSuffix(shape);
        return g.weight(graphName, shape, () -> read(name));
    }

    /** A 2-D weight [out, in] stored transposed as [in, out], for MatMul. */
    public Value weightTransposed(String name) {
        int[] s = shape(name);
        if (s.length != 2) throw new IllegalArgumentException(weights.origin() + ": " + name + " is not a matrix: " + Arrays.toString(s));
        int rows = s[0];
        int cols = s[1];
        return g.weight(name + ".T", new int[] {cols, rows}, () -> {
            float[] w = read(name);
            float[] t = new float[w.length];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
            }
            return t;
        });
    }

    private static long numel(int[] s) {
        long n = 1;
        for (int d : s) n *= d;
        return n;
    }

    private static String shapeSuffix(int[] s) {
        StringBuilder b = new StringBuilder("as");
        for (int d : s) b.append('_').append(d);
        return b.toString();
    }

    // ---- layers ----------------------------------------------------------------------------

    /** {@code nn.Conv2d}: weight [out, in, kh, kw] and an optional bias. */
    public Value conv2d(Value x, String prefix, int stride, int padding) {
        return conv2d(x, prefix, stride, new int[] {padding, padding, padding, padding});
    }

    /** Convolution with explicit pads (top, left, bottom, right). */
    public Value conv2d(Value x, String prefix, int stride, int[] pads) {
        int[] s = shape(prefix + ".weight");
        Value w = weight(prefix + ".weight");
        List<Value> in = has(prefix + ".bias") ? List.of(x, w, weight(prefix + ".bias")) : List.of(x, w);
        return g.op("Conv", in,
                attr("kernel_shape", s[2], s[3]),
                attr("strides", stride, stride),
                attr("pads", pads[0], pads[1], pads[2], pads[3]),
                attr("dilations", 1L, 1L),
                attr("group", 1L));
    }

    /** {@code nn.Linear} on the last axis: MatMul with the transposed weight, plus the bias if any. */
    public Value linear(Value x, String prefix) {
        Value y = g.op("MatMul", x, weightTransposed(prefix + ".weight"));
        return has(prefix + ".bias") ? g.op("Add", y, weight(prefix + ".bias")) : y;
    }

    /**
     * {@code nn.GroupNorm} on (B, C, H, W), as PyTorch exports it: reshape to (B, G, -1),
     * InstanceNormalization, reshape back, then the per-channel affine.
     */
    public Value groupNorm(Value x, String prefix, int groups, float eps) {
        int channels = shape(prefix + ".weight")[0];
        Value grouped = g.op("Reshape", x, g.longs(0, groups, -1));
        float[] ones = new float[groups];
        Arrays.fill(ones, 1f);
        Value normed = g.op("InstanceNormalization", List.of(grouped, g.constant(ones, groups), g.constant(new float[groups], groups)),
                attr("epsilon", eps));
        Value back = g.op("Reshape", normed, g.op("Shape", x));
        Value scaled = g.op("Mul", back, weightAs(prefix + ".weight", channels, 1, 1));
        return g.op("Add", scaled, weightAs(prefix + ".bias", channels, 1, 1));
    }

    /** {@code nn.LayerNorm} over the last axis. */
    public Value layerNorm(Value x, String prefix, float eps) {
        return g.op("LayerNormalization", List.of(x, weight(prefix + ".weight"), weight(prefix + ".bias")),
                attr("axis", -1L), attr("epsilon", eps));
    }

    public Value silu(Value x) {
        return g.op("Mul", x, g.op("Sigmoid", x));
    }

    public Value relu(Value x) {
        return g.op("Relu", x);
    }

    /** GELU in its exact (erf) form: 0.5 x (1 + erf(x / sqrt 2)). */
    public Value gelu(Value x) {
        Value e = g.op("Erf", g.op("Div", x, g.scalar((float) Math.sqrt(2.0))));
        return g.op("Mul", g.op("Mul", x, g.op("Add", e, g.scalar(1f))), g.scalar(0.5f));
    }

    /** CLIP's quick GELU: x * sigmoid(1.702 x). */
    public Value quickGelu(Value x) {
        return g.op("Mul", x, g.op("Sigmoid", g.op("Mul", x, g.scalar(1.702f))));
    }

    public Value add(Value a, Value b) {
        return g.op("Add", a, b);
    }

    public Value mul(Value a, Value b) {
        return g.op("Mul", a, b);
    }

    /** Nearest-neighbour upsampling by 2 ({@code F.interpolate(scale_factor=2, mode="nearest")}). */
    public Value upsampleNearest2x(Value x) {
        return g.op("Resize", java.util.Arrays.asList(x, null, g.constant32(new float[] {1f, 1f, 2f, 2f}, 4)),
                attr("mode", "nearest"),
                attr("coordinate_transformation_mode", "asymmetric"),
                attr("nearest_mode", "floor"));
    }

    /**
     * Multi-head scaled dot-product attention on (B, L, C) tensors:
     * softmax(q k^T * scale) v per head, heads split from the channel axis.
     *
     * @param mask an additive mask broadcastable to (B, heads, Lq, Lk), or null
     */
    public Value attention(Value q, Value k, Value v, int heads, int headDim, float scale, Value mask) {
        Value qh = g.op("Transpose", List.of(g.op("Reshape", q, g.longs(0, 0, heads, headDim))), attr("perm", 0, 2, 1, 3));
        Value kh = g.op("Transpose", List.of(g.op("Reshape", k, g.longs(0, 0, heads, headDim))), attr("perm", 0, 2, 3, 1));
        Value vh = g.op("Transpose", List.of(g.op("Reshape", v, g.longs(0, 0, heads, headDim))), attr("perm", 0, 2, 1, 3));
        Value scores = g.op("Mul", g.op("MatMul", qh, kh), g.scalar(scale));
        if (mask != null) scores = g.op("Add", scores, mask);
        Value probs = g.op("Softmax", List.of(scores), attr("axis", -1L));
        Value out = g.op("MatMul", probs, vh);
        Value merged = g.op("Transpose", List.of(out), attr("perm", 0, 2, 1, 3));
        return g.op("Reshape", merged, g.longs(0, 0, (long) heads * headDim));
    }
}
