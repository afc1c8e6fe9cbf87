package io.streamdiffusion4j.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Splits any UNet graph in two at the values that depend only on the prompt and the timesteps
 * (the paper's pre-computation, done completely): a <em>conditioning</em> graph, the nodes that
 * need {@code encoder_hidden_states} or {@code timestep} but not the sample's values (the
 * cross-attention K and V projections of every layer, the time embedding and every ResNet's
 * projection of it), and the <em>main</em> graph, the rest, which takes the conditioning graph's
 * results (the frontier) as inputs instead of the prompt embeddings and timesteps. A stream runs
 * the conditioning graph once per prompt and stream configuration, and the main graph per frame.
 *
 * <p>Works on the graph's data flow only, so the project's own converter output and
 * Optimum-layout exports split alike. A node goes to the conditioning graph when it needs the
 * prompt or the timestep and everything it reads can be computed there: constants, the two
 * inputs, and the <em>shape</em> of the sample (the conditioning graph takes {@code sample} as an
 * input for its shape only; its values are never read). Shapes of values computed from the
 * sample (a Reshape of K to the batch size of the hidden states, for example) cannot be, so
 * such a node stays in the main graph and its input becomes a frontier value. Constant-only and
 * shape-only helper nodes that the conditioning graph needs are copied into it. Random-number
 * nodes never move, and a graph with subgraphs (If, Loop) is left whole.
 *
 * <p>The frontier values keep their names; where the main graph reads the prompt or timestep
 * input itself, the conditioning graph passes it on under a new name through an Identity node.
 * The conditioning graph's outputs carry no types: ONNX Runtime infers them when it loads the
 * graph, and {@link #mainGraph} declares the main graph's new inputs with what it inferred.
 */
final class UnetConditioningSplit {
    /** Part of the optimised-model cache key of the split graphs: change it when the split changes. */
    static final String VERSION = "1";
    private static final String PASSED_ON = "/precomputed";

    private final ModelProto model;
    private final GraphProto graph;
    private final List<Integer> conditioningNodes;
    private final List<Integer> mainNodes;
    private final List<String> frontier;
    private final Map<String, String> renamed;
    private final List<String> conditioningInputs;
    private final Set<Integer> moved;

    private UnetConditioningSplit(ModelProto model, List<Integer> conditioningNodes, List<Integer> mainNodes,
                                  List<String> frontier, Map<String, String> renamed, List<String> conditioningInputs,
                                  Set<Integer> moved) {
        this.model = model;
        this.graph = model.getGraph();
        this.conditioningNodes = conditioningNodes;
        this.mainNodes = mainNodes;
        this.frontier = frontier;
        this.renamed = renamed;
        this.conditioningInputs = conditioningInputs;
        this.moved = moved;
    }

    /**
     * Plans the split of a UNet graph whose inputs are {@code sample}, {@code timestep} and
     * {@code hiddenStates}. Empty when nothing depends on the conditioning inputs alone (nothing to
     * pre-compute) or the graph has subgraphs.
     */
    static Optional<UnetConditioningSplit> plan(byte[] modelBytes, Path origin, String sample, String timestep,
                                                String hiddenStates) throws InvalidModelException {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(modelBytes);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidModelException(origin + ": not a valid ONNX model: " + e.getMessage(), e);
        }
        GraphProto g = model.getGraph();
        Set<String> conditions = Set.of(timestep, hiddenStates);
        // Per value: whether it can be computed in the conditioning graph, and whether it needs a conditioning input.
        Set<String> computable = new HashSet<>(conditions);
        Set<String> needsCondition = new HashSet<>(conditions);
        for (TensorProto t : g.getInitializerList()) computable.add(t.getName());
        Set<String> graphInputs = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) graphInputs.add(v.getName());
        Map<String, Integer> producer = new HashMap<>();
        boolean[] conditioning = new boolean[g.getNodeCount()];
        boolean any = false;
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            if (hasSubgraph(n)) return Optional.empty();
            boolean ok = !isRandom(n);
            boolean needs = false;
            if (shapeOnly(n)) {
                String x = n.getInput(0);
                ok &= x.equals(sample) || computable.contains(x);
                needs = needsCondition.contains(x);
            } else {
                for (String in : n.getInputList()) {
                    if (in.isEmpty()) continue;
                    if (!computable.contains(in)) ok = false;
                    if (needsCondition.contains(in)) needs = true;
                }
            }
            for (String out : n.getOutputList()) {
                if (out.isEmpty()) continue;
                producer.put(out, i);
                if (ok) computable.add(out);
                if (needs) needsCondition.add(out);
            }
            conditioning[i] = ok && needs;
            any |= conditioning[i];
        }
        if (!any) return Optional.empty();

        // The main graph: every other node that the graph's outputs need.
        Set<Integer> main = new HashSet<>();
        List<String> work = new ArrayList<>();
        for (ValueInfoProto o : g.getOutputList()) work.add(o.getName());
        Set<String> frontier = new LinkedHashSet<>();
        Set<String> seen = new HashSet<>();
        while (!work.isEmpty()) {
            String v = work.removeLast();
            if (v.isEmpty() || !seen.add(v)) continue;
            Integer p = producer.get(v);
            if (conditions.contains(v) || (p != null && conditioning[p])) {
                frontier.add(v);
                continue;
            }
            if (p == null || !main.add(p)) continue;
            work.addAll(g.getNode(p).getInputList());
        }
        // The conditioning graph: the nodes that make the frontier, with the constant and shape helpers they read.
        Set<Integer> cond = new HashSet<>();
        Set<String> condInputs = new LinkedHashSet<>();
        work.addAll(frontier);
        seen.clear();
        while (!work.isEmpty()) {
            String v = work.removeLast();
            if (v.isEmpty() || !seen.add(v)) continue;
            if (graphInputs.contains(v) && !isInitializer(g, v)) {
                condInputs.add(v);
                continue;
            }
            Integer p = producer.get(v);
            if (p == null || !cond.add(p)) continue;
            NodeProto n = g.getNode(p);
            if (shapeOnly(n) && n.getInput(0).equals(sample)) condInputs.add(sample);
            else work.addAll(n.getInputList());
        }
        Map<String, String> renamed = new HashMap<>();
        for (String f : frontier) if (conditions.contains(f)) renamed.put(f, f + PASSED_ON);
        List<String> inputOrder = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) if (condInputs.contains(v.getName())) inputOrder.add(v.getName());
        return Optional.of(new UnetConditioningSplit(model, sorted(cond), sorted(main), frontier.stream().map(
                f -> renamed.getOrDefault(f, f)).toList(), renamed, inputOrder, movedNodes(conditioning)));
    }

    /** The values the conditioning graph computes and the main graph takes, in output order. */
    List<String> frontier() {
        return frontier;
    }

    /** The names of the nodes that moved to the conditioning graph (helpers copied there not included). */
    List<String> conditioningNodeNames() {
        List<String> out = new ArrayList<>();
        for (int i : conditioningNodes) {
            NodeProto n = graph.getNode(i);
            if (!moved.contains(i)) continue;
            out.add(n.getName().isEmpty() ? n.getOpType() + ":" + n.getOutput(0) : n.getName());
        }
        return out;
    }

    /** The conditioning graph's inputs: the prompt embeddings and timesteps, and the sample when its shape is read. */
    List<String> conditioningInputs() {
        return conditioningInputs;
    }

    /** The conditioning graph; its outputs ({@link #frontier}) are untyped, for ONNX Runtime to infer. */
    byte[] conditioningGraph() {
        GraphProto.Builder b = GraphProto.newBuilder().setName(graph.getName() + "_conditioning");
        Set<String> values = new HashSet<>();
        for (int i : conditioningNodes) {
            NodeProto n = graph.getNode(i);
            b.addNode(n);
            values.addAll(n.getOutputList());
        }
        renamed.forEach((from, to) -> b.addNode(NodeProto.newBuilder().setOpType("Identity").setName(to)
                .addInput(from).addOutput(to)));
        for (ValueInfoProto v : graph.getInputList()) if (conditioningInputs.contains(v.getName())) b.addInput(v);
        for (String f : frontier) b.addOutput(ValueInfoProto.newBuilder().setName(f));
        addUsed(b, values);
        return model.toBuilder().setGraph(b).build().toByteArray();
    }

    /**
     * The main graph, with the frontier as inputs of the given types (name to type, as the
     * conditioning session reports its outputs).
     */
    byte[] mainGraph(Map<String, TypeProto> frontierTypes) {
        GraphProto.Builder b = GraphProto.newBuilder().setName(graph.getName());
        Set<String> values = new HashSet<>();
        Set<String> read = new HashSet<>();
        for (int i : mainNodes) {
            NodeProto n = graph.getNode(i);
            NodeProto.Builder nb = n.toBuilder();
            for (int k = 0; k < n.getInputCount(); k++) {
                String to = renamed.get(n.getInput(k));
                if (to != null) nb.setInput(k, to);
                read.add(nb.getInput(k));
            }
            b.addNode(nb);
            values.addAll(n.getOutputList());
        }
        for (ValueInfoProto o : graph.getOutputList()) read.add(renamed.getOrDefault(o.getName(), o.getName()));
        for (ValueInfoProto v : graph.getInputList()) {
            if (read.contains(v.getName()) && !frontier.contains(v.getName())) b.addInput(v);
        }
        for (String f : frontier) {
            TypeProto t = frontierTypes.get(f);
            if (t == null) throw new IllegalArgumentException("no type for the frontier value '" + f + "'");
            b.addInput(ValueInfoProto.newBuilder().setName(f).setType(t));
        }
        for (ValueInfoProto o : graph.getOutputList()) b.addOutput(o);
        addUsed(b, values);
        return model.toBuilder().setGraph(b).build().toByteArray();
    }

    /** Adds the initializers the builder's nodes read, and the value_info of values they produce. */
    private void addUsed(GraphProto.Builder b, Set<String> produced) {
        Set<String> read = new HashSet<>();
        for (NodeProto n : b.getNodeList()) read.addAll(n.getInputList());
        Set<String> declared = new HashSet<>();
        for (ValueInfoProto v : b.getInputList()) declared.add(v.getName());
        for (TensorProto t : graph.getInitializerList()) {
            if (read.contains(t.getName()) && !declared.contains(t.getName())) b.addInitializer(t);
        }
        for (ValueInfoProto v : graph.getValueInfoList()) if (produced.contains(v.getName())) b.addValueInfo(v);
    }

    private static Set<Integer> movedNodes(boolean[] conditioning) {
        Set<Integer> out = new HashSet<>();
        for (int i = 0; i < conditioning.length; i++) if (conditioning[i]) out.add(i);
        return out;
    }

    private static boolean isInitializer(GraphProto g, String name) {
        for (TensorProto t : g.getInitializerList()) if (t.getName().equals(name)) return true;
        return false;
    }

    private static List<Integer> sorted(Set<Integer> nodes) {
        return nodes.stream().sorted().toList();
    }

    /** Ops whose output depends only on the shape of their input. */
    private static boolean shapeOnly(NodeProto n) {
        return (n.getOpType().equals("Shape") || n.getOpType().equals("Size")) && n.getDomain().isEmpty()
                && n.getInputCount() == 1;
    }

    private static boolean isRandom(NodeProto n) {
        return n.getOpType().startsWith("Random") || n.getOpType().equals("Multinomial") || n.getOpType().equals("Bernoulli");
    }

    private static boolean hasSubgraph(NodeProto n) {
        for (AttributeProto a : n.getAttributeList()) if (a.hasG() || a.getGraphsCount() > 0) return true;
        return false;
    }
}
