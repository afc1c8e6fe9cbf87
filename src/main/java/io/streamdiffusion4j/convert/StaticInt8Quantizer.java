package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Convolutions in int8 with activation scales fixed at conversion from measured ranges
 * ("static" quantization), in the QuantizeLinear / DequantizeLinear (QDQ) form that ONNX
 * Runtime's CPU provider fuses into QLinearConv and QLinearAdd: uint8 activations, int8 weights
 * per output channel, the u8s8 kernels that use the CPU's integer dot-product instructions.
 *
 * <p>Why static: with the activations' scales computed at each call (DynamicQuantizeLinear,
 * ConvInteger, rescale; four nodes ONNX Runtime does not fuse) a convolution was 0.45-0.7x the
 * float speed up to 320 channels and 1.4-1.9x at 640 and 1280, while a fused QLinearConv was
 * 2.0-2.5x faster than float at TAESD's 64 channels and 3.0-3.8x at the UNet's 320-1280
 * (docs/PERFORMANCE.md). Fixed scales need the activations' ranges, measured by running the
 * float model on calibration inputs: {@link #plan} says which tensors, {@link Emitter} writes
 * the graph with their ranges (inside {@link Int8Quantizer}'s rewrite, which also writes the
 * weights).
 *
 * <p>The plan:
 * <ul>
 *   <li>A Conv with a constant float weight runs in int8 ({@link Plan#convs}), unless its output
 *       is one of the model's results (a graph output, or what reaches one only through nodes of
 *       one varying input: an Identity, a scale, a clamp), which are not rounded to 256 levels. Its data input and its output are <em>quantized tensors</em>:
 *       a QuantizeLinear follows the producer, and the readers that take uint8 get a
 *       DequantizeLinear each (ONNX Runtime fuses a DequantizeLinear only into the one node it
 *       feeds). A Conv's output exists only as uint8 once fused, so all its readers read it
 *       dequantized; a tensor made by a float node keeps its float value for its float readers.</li>
 *   <li>An Add of two quantized tensors, and a nearest-neighbour Resize of one, run on uint8 too
 *       (QLinearAdd; Resize on uint8), and their outputs are quantized tensors.</li>
 *   <li>A Relu that alone reads the output of such a node is removed: the node writes the Relu's
 *       output directly, quantized with zero point 0, where uint8 saturation at 0 does what the
 *       Relu did.</li>
 * </ul>
 * Biases stay float (ONNX Runtime quantizes them when it fuses the node).
 */
public final class StaticInt8Quantizer {
    /** Bump when the rewrite's output changes, so cached int8 copies are made again. */
    public static final String FORMAT = "static-int8-v2";
    private static final int U8_MAX = 255;
    /** Element-wise steps between a model's last layer and its outputs (see {@link #plan}). */
    private static final Set<String> RESULT_STEPS = Set.of("Identity", "Mul", "Div", "Add", "Sub", "Clip", "Tanh", "Sigmoid",
            "Cast", "Min", "Max");

    /** The measured range of a tensor's values over the calibration inputs. */
    public record Range(float min, float max) {
        public Range {
            if (!(min <= max)) throw new IllegalArgumentException("range min " + min + " above max " + max);
        }

        public Range union(Range o) {
            return new Range(Math.min(min, o.min), Math.max(max, o.max));
        }

        /** uint8 scale and zero point that cover this range and represent 0 exactly. */
        Params params() {
            double lo = Math.min(0, min), hi = Math.max(0, max);
            if (!(hi - lo > 1e-30)) return new Params(1f, 0);
            float scale = (float) ((hi - lo) / U8_MAX);
            int zero = (int) Math.max(0, Math.min(U8_MAX, Math.round(-lo / scale)));
            return new Params(scale, zero);
        }
    }

    record Params(float scale, int zeroPoint) {}

    /**
     * What the rewrite of one model quantizes, by node index.
     *
     * @param tensors     the quantized tensors, named as in the float model: the ranges the rewrite needs
     * @param convs       the Conv nodes that run in int8
     * @param uint8Ops    the Add and Resize nodes that run on uint8
     * @param foldedRelus the removed Relu nodes, and for the node before each the output it writes instead
     * @param int8Made    the quantized tensors made by int8 nodes (all their readers read them dequantized)
     */
    public record Plan(int nodeCount, Set<String> tensors, Set<Integer> convs, Set<Integer> uint8Ops,
                       Map<Integer, String> foldedRelus, Map<Integer, String> renamedOutputs, Set<String> int8Made,
                       int totalConvs) {
        public String describe() {
            return convs.size() + " of " + totalConvs + " Conv layers in int8 (static: " + tensors.size()
                    + " activations in uint8, " + uint8Ops.size() + " Add/Resize on uint8, " + foldedRelus.size()
                    + " Relu folded into their quantization)";
        }

        public boolean isEmpty() {
            return convs.isEmpty();
        }
    }

    private StaticInt8Quantizer() {}

    /** Decides what {@code model} runs in int8 (see the class comment). */
    public static Plan plan(ModelProto model) {
        GraphProto g = model.getGraph();
        Map<String, TensorProto> initializers = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) initializers.put(t.getName(), t);
        // the results: graph outputs, and what reaches them only through nodes of one varying input
        // (an Identity, a scale, a clamp: exports end in such nodes); they stay float, so a model's
        // results are not rounded to 256 levels
        Set<String> outputs = new HashSet<>();
        for (ValueInfoProto v : g.getOutputList()) outputs.add(v.getName());
        Set<String> constants = new HashSet<>(initializers.keySet());
        for (NodeProto n : g.getNodeList()) if (n.getOpType().equals("Constant")) constants.addAll(n.getOutputList());
        for (int i = g.getNodeCount() - 1; i >= 0; i--) {
            NodeProto n = g.getNode(i);
            if (!RESULT_STEPS.contains(n.getOpType()) || !n.getDomain().isEmpty() || !outputs.containsAll(n.getOutputList())) {
                continue;
            }
            List<String> varying = n.getInputList().stream().filter(in -> !in.isEmpty() && !constants.contains(in)).toList();
            if (varying.size() == 1) outputs.add(varying.getFirst());
        }
        Map<String, List<Integer>> readers = new HashMap<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            for (String in : g.getNode(i).getInputList()) {
                if (!in.isEmpty()) readers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
        }
        Set<String> tensors = new LinkedHashSet<>();
        Set<Integer> convs = new LinkedHashSet<>();
        Set<Integer> uint8Ops = new LinkedHashSet<>();
        Map<Integer, String> folded = new LinkedHashMap<>();
        Map<Integer, String> renamed = new LinkedHashMap<>();
        Set<String> int8Made = new HashSet<>();
        int totalConvs = 0;
        // convolutions first: a tensor read by a convolution is quantized whatever reads it before
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            if (n.getOpType().equals("Conv") && n.getDomain().isEmpty()) totalConvs++;
            if (!isConvWithConstantWeight(n, initializers)) continue;
            String out = foldRelu(g, i, readers, outputs, folded, renamed);
            if (outputs.contains(out)) {
                unfold(i, folded, renamed);
                continue;
            }
            convs.add(i);
            tensors.add(n.getInput(0));
            tensors.add(out);
            int8Made.add(out);
        }
        // then Add and Resize in graph order, as their inputs become quantized
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            if (!n.getDomain().isEmpty() || n.getOutputCount() != 1) continue;
            boolean onUint8 = switch (n.getOpType()) {
                case "Add" -> n.getInputCount() == 2 && tensors.contains(n.getInput(0)) && tensors.contains(n.getInput(1));
                case "Resize" -> tensors.contains(n.getInput(0)) && nearest(n);
                default -> false;
            };
            if (!onUint8) continue;
            String out = foldRelu(g, i, readers, outputs, folded, renamed);
            if (outputs.contains(out)) {
                unfold(i, folded, renamed);
                continue;
            }
            uint8Ops.add(i);
            tensors.add(out);
            int8Made.add(out);
        }
        return new Plan(g.getNodeCount(), tensors, convs, uint8Ops, folded, renamed, int8Made, totalConvs);
    }

    /** The output node i writes: its own, or that of the Relu that alone reads it (folded in). */
    private static String foldRelu(GraphProto g, int i, Map<String, List<Integer>> readers, Set<String> outputs,
                                   Map<Integer, String> folded, Map<Integer, String> renamed) {
        String x = g.getNode(i).getOutput(0);
        List<Integer> rs = readers.getOrDefault(x, List.of());
        if (outputs.contains(x) || rs.size() != 1) return x;
        NodeProto r = g.getNode(rs.getFirst());
        if (!r.getOpType().equals("Relu") || !r.getDomain().isEmpty() || r.getOutputCount() != 1) return x;
        folded.put(rs.getFirst(), r.getOutput(0));
        renamed.put(i, r.getOutput(0));
        return r.getOutput(0);
    }

    private static void unfold(int i, Map<Integer, String> folded, Map<Integer, String> renamed) {
        String y = renamed.remove(i);
        if (y != null) folded.values().remove(y);
    }

    private static boolean nearest(NodeProto n) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("mode")) return a.getS().toStringUtf8().equals("nearest");
        }
        return true; // the default mode
    }

    private static boolean isConvWithConstantWeight(NodeProto n, Map<String, TensorProto> initializers) {
        if (!n.getOpType().equals("Conv") || !n.getDomain().isEmpty() || n.getInputCount() < 2 || n.getOutputCount() != 1
                || initializers.containsKey(n.getInput(0))) {
            return false;
        }
        TensorProto w = initializers.get(n.getInput(1));
        return w != null && w.getDataType() == TensorProto.DataType.FLOAT_VALUE && w.getDimsCount() == 4;
    }

    /** Where the rewrite puts weights and how it names things (the enclosing rewrite's data file and names). */
    interface Sink {
        float[] floats(String initializer) throws IOException;

        /** Adds a large initializer (its data goes to the model's data file); returns its name. */
        String large(String name, int dataType, byte[] data, List<Long> dims) throws IOException;

        void small(TensorProto t);

        String fresh(String want);
    }

    /** Writes a {@link Plan} node by node, inside a rewrite that copies or replaces each node. */
    static final class Emitter {
        private final Plan plan;
        private final Sink sink;
        private final Map<String, String[]> params = new HashMap<>(); // tensor -> {scale, zero point}
        private final Map<String, String> quantized = new HashMap<>(); // tensor -> its uint8 name
        private final Set<String> replacedWeights = new HashSet<>();
        private final Map<String, TensorProto> initializers = new HashMap<>();

        Emitter(Plan plan, GraphProto g, Map<String, Range> ranges, Sink sink) {
            if (plan.nodeCount() != g.getNodeCount()) throw new IllegalArgumentException("the plan is of another graph");
            this.plan = plan;
            this.sink = sink;
            for (TensorProto t : g.getInitializerList()) initializers.put(t.getName(), t);
            for (String t : plan.tensors()) {
                Range r = ranges.get(t);
                if (r == null) throw new IllegalArgumentException("no measured range for tensor '" + t + "'");
                Params p = r.params();
                String s = sink.fresh(t + "_scale"), z = sink.fresh(t + "_zero");
                sink.small(TensorProto.newBuilder().setName(s).setDataType(TensorProto.DataType.FLOAT_VALUE)
                        .setRawData(ByteString.copyFrom(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                                .putFloat(p.scale()).array())).build());
                sink.small(TensorProto.newBuilder().setName(z).setDataType(TensorProto.DataType.UINT8_VALUE)
                        .setRawData(ByteString.copyFrom(new byte[] {(byte) p.zeroPoint()})).build());
                params.put(t, new String[] {s, z});
            }
        }

        /** QuantizeLinear of the graph inputs that are quantized tensors. */
        void start(GraphProto g, List<NodeProto> out) {
            for (ValueInfoProto v : g.getInputList()) if (plan.tensors().contains(v.getName())) quantize(v.getName(), out);
        }

        /** True for a Relu folded into the node before it: it is not written. */
        boolean skips(int index) {
            return plan.foldedRelus().containsKey(index);
        }

        /** Node {@code index} with dequantized inputs where it reads uint8, int8 weights, and its folded output. */
        NodeProto prepare(int index, NodeProto n, List<NodeProto> out) throws IOException {
            NodeProto.Builder b = n.toBuilder();
            boolean conv = plan.convs().contains(index), onUint8 = plan.uint8Ops().contains(index);
            for (int i = 0; i < n.getInputCount(); i++) {
                String in = n.getInput(i);
                if (!quantized.containsKey(in)) continue;
                boolean takesUint8 = (conv && i == 0) || (onUint8 && (n.getOpType().equals("Add") || i == 0));
                if (!takesUint8 && !plan.int8Made().contains(in)) continue; // its float value still exists
                String dq = sink.fresh(in + "_dq");
                String[] p = params.get(in);
                out.add(NodeProto.newBuilder().setOpType("DequantizeLinear").setName(sink.fresh(dq + "_node"))
                        .addInput(quantized.get(in)).addInput(p[0]).addInput(p[1]).addOutput(dq).build());
                b.setInput(i, dq);
            }
            if (conv) b.setInput(1, int8Weight(n.getInput(1), out));
            String renamed = plan.renamedOutputs().get(index);
            if (renamed != null) b.setOutput(0, renamed);
            return b.build();
        }

        /** QuantizeLinear after a written node's quantized outputs. */
        void finish(NodeProto written, List<NodeProto> out) {
            for (String o : written.getOutputList()) if (plan.tensors().contains(o) && !quantized.containsKey(o)) quantize(o, out);
        }

        /** Conv weights replaced by int8 ones (the rewrite drops them unless something else reads them). */
        Set<String> replacedWeights() {
            return replacedWeights;
        }

        private String int8Weight(String w, List<NodeProto> out) throws IOException {
            TensorProto wt = initializers.get(w);
            int m = (int) wt.getDims(0);
            float[] values = sink.floats(w);
            float[] s = Int8Quantizer.scales(values, m, false);
            byte[] q = Int8Quantizer.quantize(values, s, false);
            String qName = sink.large(sink.fresh(w + "_int8"), TensorProto.DataType.INT8_VALUE, q, wt.getDimsList());
            String sName = sink.fresh(w + "_scale"), zName = sink.fresh(w + "_zero");
            ByteBuffer sb = ByteBuffer.allocate(4 * m).order(ByteOrder.LITTLE_ENDIAN);
            sb.asFloatBuffer().put(s);
            sink.small(TensorProto.newBuilder().setName(sName).setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(m)
                    .setRawData(ByteString.copyFrom(sb.array())).build());
            sink.small(TensorProto.newBuilder().setName(zName).setDataType(TensorProto.DataType.INT8_VALUE).addDims(m)
                    .setRawData(ByteString.copyFrom(new byte[m])).build());
            String wf = sink.fresh(w + "_dq");
            out.add(NodeProto.newBuilder().setOpType("DequantizeLinear").setName(sink.fresh(wf + "_node"))
                    .addInput(qName).addInput(sName).addInput(zName).addOutput(wf)
                    .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(0))
                    .build());
            replacedWeights.add(w);
            return wf;
        }

        private void quantize(String t, List<NodeProto> out) {
            String q = sink.fresh(t + "_uint8");
            String[] p = params.get(t);
            out.add(NodeProto.newBuilder().setOpType("QuantizeLinear").setName(sink.fresh(q + "_node"))
                    .addInput(t).addInput(p[0]).addInput(p[1]).addOutput(q).build());
            quantized.put(t, q);
        }
    }
}
