package io.streamdiffusion4j.onnx;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;

/**
 * The input shapes one session is loaded with: the symbolic dimensions to fix (name to value, as
 * {@code SessionOptions.setSymbolicDimensionValue} takes them) and every input's resulting shape
 * (-1 where a dimension stays dynamic).
 */
public record SessionShapes(Map<String, Long> symbolicValues, Map<String, long[]> inputShapes) {

    public SessionShapes {
        symbolicValues = Map.copyOf(symbolicValues);
        Map<String, long[]> copy = new TreeMap<>();
        inputShapes.forEach((k, v) -> copy.put(k, v.clone()));
        inputShapes = copy;
    }

    /** No overrides: every dimension as the graph declares it. */
    static SessionShapes dynamic(GraphInputs graph) {
        return resolve(graph, Map.of(), null);
    }

    /**
     * Fixes the dimensions named in {@code wanted} (input name to one size per axis, -1 to leave
     * an axis alone). Inputs the graph does not have are ignored (the caller's signature check
     * reports those). A fixed dimension that disagrees, or one name asked to take two sizes, is an error.
     */
    static SessionShapes resolve(GraphInputs graph, Map<String, long[]> wanted, java.nio.file.Path file)
            throws IllegalArgumentException {
        Map<String, Long> symbols = new LinkedHashMap<>();
        for (var e : wanted.entrySet()) {
            List<GraphInputs.Dim> dims = graph.inputs().get(e.getKey());
            if (dims == null) continue;
            long[] want = e.getValue();
            if (want.length != dims.size()) {
                throw new IllegalArgumentException(file + ": input '" + e.getKey() + "' has " + dims.size()
                        + " dimensions, the pipeline feeds " + want.length);
            }
            for (int axis = 0; axis < want.length; axis++) {
                if (want[axis] < 0) continue;
                GraphInputs.Dim d = dims.get(axis);
                if (d.value() > 0 && d.value() != want[axis]) {
                    throw new IllegalArgumentException(file + ": input '" + e.getKey() + "' has a fixed size " + d.value()
                            + " at axis " + axis + ", but this pipeline configuration needs " + want[axis]);
                }
                if (d.name() != null) {
                    Long prior = symbols.putIfAbsent(d.name(), want[axis]);
                    if (prior != null && prior != want[axis]) {
                        throw new IllegalArgumentException(file + ": dimension '" + d.name() + "' would need both " + prior
                                + " and " + want[axis] + " (input '" + e.getKey() + "' axis " + axis + ")");
                    }
                }
            }
        }
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (var e : graph.inputs().entrySet()) {
            long[] s = new long[e.getValue().size()];
            for (int axis = 0; axis < s.length; axis++) {
                GraphInputs.Dim d = e.getValue().get(axis);
                s[axis] = d.value() > 0 ? d.value() : d.name() != null && symbols.containsKey(d.name()) ? symbols.get(d.name()) : -1;
            }
            shapes.put(e.getKey(), s);
        }
        return new SessionShapes(symbols, shapes);
    }

    /** True when every input's shape is fully known. */
    public boolean allStatic() {
        for (long[] s : inputShapes.values()) {
            for (long d : s) if (d < 0) return false;
        }
        return true;
    }

    /**
     * The shapes as TensorRT's profile option wants them ({@code sample:2x4x64x64,timestep:2}),
     * or null when some dimension is still dynamic.
     */
    public String tensorRtProfile() {
        if (!allStatic()) return null;
        StringJoiner j = new StringJoiner(",");
        inputShapes.forEach((name, s) -> j.add(name + ":" + dims(s)));
        return j.toString();
    }

    /** A short, file-name-safe key of the input shapes ("dynamic" when nothing is fixed). */
    public String key() {
        if (symbolicValues.isEmpty()) return "dynamic";
        StringJoiner j = new StringJoiner("_");
        inputShapes.forEach((name, s) -> j.add(dims(s).replace("-1", "d")));
        return j.toString();
    }

    private static String dims(long[] s) {
        StringJoiner j = new StringJoiner("x");
        for (long d : s) j.add(Long.toString(d));
        return j.toString();
    }

    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(", ", "[", "]");
        inputShapes.forEach((name, s) -> j.add(name + Arrays.toString(s)));
        return j.toString();
    }
}
