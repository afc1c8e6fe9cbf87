package io.streamdiffusion4j.convert;

import com.google.protobuf.ByteString;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Builds an ONNX graph in Java: inputs, outputs, nodes, and weights whose values are produced
 * only when the model is written ({@link OnnxWriter}), so a multi-gigabyte UNet never sits in
 * memory as a whole.
 *
 * <p>The graph has one float precision ({@link #floatType()}): float32, or float16 for half
 * models. Weights and float constants are stored in it; graph inputs and outputs stay float32
 * and are cast at the edges ({@link #floatInput}, {@link #floatOutput}).
 */
public final class OnnxGraph {
    public static final int OPSET = 17;

    /** A tensor in the graph, by name. */
    public record Value(String name) {}

    /** A weight: values produced on demand, stored in the graph's float type. */
    public record Weight(String name, int[] shape, Supplier<float[]> values) {
        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }
    }

    /** A node attribute. */
    public record Attr(AttributeProto proto) {}

    private final String name;
    private final boolean half;
    private final List<NodeProto> nodes = new ArrayList<>();
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private final Map<String, Weight> weights = new LinkedHashMap<>();
    private final List<TensorProto> constants = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, Integer> counters = new LinkedHashMap<>();

    public OnnxGraph(String name, boolean half) {
        this.name = name;
        this.half = half;
    }

    public String name() {
        return name;
    }

    public boolean isHalf() {
        return half;
    }

    /** TensorProto data type of the graph's float tensors. */
    public int floatType() {
        return half ? TensorProto.DataType.FLOAT16_VALUE : TensorProto.DataType.FLOAT_VALUE;
    }

    /** A fresh tensor name with a readable prefix. */
    public String fresh(String prefix) {
        String base = prefix.isEmpty() ? "t" : prefix;
        int n = counters.merge(base, 1, Integer::sum);
        String candidate = n == 1 ? base : base + "_" + (n - 1);
        while (!names.add(candidate)) candidate = base + "_" + counters.merge(base, 1, Integer::sum);
        return candidate;
    }

    // ---- inputs and outputs -------------------------------------------------------------

    /** A graph input of a given element type; dims are Integers (fixed) or Strings (named, dynamic). */
    public Value input(String inputName, int elemType, Object... dims) {
        names.add(inputName);
        inputs.add(valueInfo(inputName, elemType, dims));
        return new Value(inputName);
    }

    /** A float32 graph input, cast to the graph's float type. */
    public Value floatInput(String inputName, Object... dims) {
        Value v = input(inputName, TensorProto.DataType.FLOAT_VALUE, dims);
        return half ? cast(v, floatType()) : v;
    }

    /** Declares {@code v} as a graph output named {@code outputName} of the given element type. */
    public void output(String outputName, Value v, int elemType, Object... dims) {
        if (!v.name().equals(outputName)) {
            names.add(outputName);
            nodes.add(NodeProto.newBuilder().setOpType("Identity").setName(fresh("Identity"))
                    .addInput(v.name()).addOutput(outputName).build());
        }
        outputs.add(valueInfo(outputName, elemType, dims));
    }

    /** A float32 graph output (cast from the graph's float type when half). */
    public void floatOutput(String outputName, Value v, Object... dims) {
        output(outputName, half ? cast(v, TensorProto.DataType.FLOAT_VALUE) : v, TensorProto.DataType.FLOAT_VALUE, dims);
    }

    static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder b = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Integer i) b.setDimValue(i);
            else b.setDimParam(d.toString());
            shape.addDim(b);
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(
                        TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
                .build();
    }

    // ---- weights and constants ------------------------------------------------------------

    /** A weight initializer; its values are read when the model is written. */
    public Value weight(String weightName, int[] shape, Supplier<float[]> values) {
        if (weights.containsKey(weightName) || !names.add(weightName)) {
            throw new IllegalArgumentException("duplicate tensor name " + weightName);
        }
        weights.put(weightName, new Weight(weightName, shape.clone(), values));
        return new Value(weightName);
    }

    /** A small float constant stored inline, in the graph's float type. */
    public Value constant(float[] values, int... shape) {
        String n = fresh("const");
        TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(floatType());
        for (int d : shape) t.addDims(d);
        t.setRawData(ByteString.copyFrom(floatBytes(values, half)));
        constants.add(t.build());
        return new Value(n);
    }

    /** A small float32 constant whatever the graph's precision (for inputs the spec types as float, e.g. Resize scales). */
    public Value constant32(float[] values, int... shape) {
        String n = fresh("const");
        TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (int d : shape) t.addDims(d);
        t.setRawData(ByteString.copyFrom(floatBytes(values, false)));
        constants.add(t.build());
        return new Value(n);
    }

    /** A float scalar constant (rank 0). */
    public Value scalar(float v) {
        return constant(new float[] {v});
    }

    /** A small int64 constant stored inline (shapes, axes, indices). */
    public Value longs(long[] values, int... shape) {
        String n = fresh("const");
        TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(TensorProto.DataType.INT64_VALUE);
        for (int d : shape) t.addDims(d);
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        t.setRawData(ByteString.copyFrom(b.array()));
        constants.add(t.build());
        return new Value(n);
    }

    /** A 1-D int64 constant. */
    public Value longs(long... values) {
        return longs(values, values.length);
    }

    static byte[] floatBytes(float[] values, boolean half) {
        ByteBuffer b = ByteBuffer.allocate(values.length * (half ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            if (half) b.putShort(Float.floatToFloat16(v));
            else b.putFloat(v);
        }
        return b.array();
    }

    // ---- nodes ---------------------------------------------------------------------------

    public Value op(String opType, Value... in) {
        return op(opType, List.of(in));
    }

    public Value op(String opType, List<Value> in, Attr... attrs) {
        return ops(opType, 1, in, attrs)[0];
    }

    /** A node with {@code outputCount} outputs. */
    public Value[] ops(String opType, int outputCount, List<Value> in, Attr... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(opType).setName(fresh(opType));
        for (Value v : in) n.addInput(v == null ? "" : v.name());
        Value[] out = new Value[outputCount];
        for (int i = 0; i < outputCount; i++) {
            out[i] = new Value(fresh(opType.toLowerCase(java.util.Locale.ROOT) + "_out"));
            n.addOutput(out[i].name());
        }
        for (Attr a : attrs) n.addAttribute(a.proto());
        nodes.add(n.build());
        return out;
    }

    public Value cast(Value v, int to) {
        return op("Cast", List.of(v), attr("to", to));
    }

    public static Attr attr(String name, long v) {
        return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build());
    }

    public static Attr attr(String name, float v) {
        return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build());
    }

    public static Attr attr(String name, String v) {
        return new Attr(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(v)).build());
    }

    public static Attr attr(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return new Attr(b.build());
    }

    public static Attr attrFloats(String name, float... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOATS);
        for (float x : v) b.addFloats(x);
        return new Attr(b.build());
    }

    // ---- access for the writer -------------------------------------------------------------

    List<NodeProto> nodes() {
        return nodes;
    }

    List<ValueInfoProto> inputs() {
        return inputs;
    }

    List<ValueInfoProto> outputs() {
        return outputs;
    }

    List<TensorProto> constants() {
        return constants;
    }

    public List<Weight> weights() {
        return List.copyOf(weights.values());
    }

    /** Total weight values, for progress reporting. */
    public long weightCount() {
        long n = 0;
        for (Weight w : weights.values()) n += w.numel();
        return n;
    }

    @Override
    public String toString() {
        return "OnnxGraph[" + name + ", " + nodes.size() + " nodes, " + weights.size() + " weights, inputs "
                + Arrays.toString(inputs.stream().map(ValueInfoProto::getName).toArray()) + "]";
    }
}
