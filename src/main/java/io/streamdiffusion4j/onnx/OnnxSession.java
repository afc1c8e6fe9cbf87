package io.streamdiffusion4j.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One ONNX Runtime session plus the knowledge of where it came from, so every signature
 * problem can name the file, the expected input or output, and what the model has instead.
 */
final class OnnxSession implements AutoCloseable {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final Path file;
    private final Map<String, NodeInfo> inputs;
    private final Map<String, NodeInfo> outputs;
    private String setup = "";

    private OnnxSession(OrtEnvironment env, OrtSession session, Path file) throws OrtException {
        this.env = env;
        this.session = session;
        this.file = file;
        this.inputs = session.getInputInfo();
        this.outputs = session.getOutputInfo();
    }

    /** Wraps a session made elsewhere; {@code file} names it in errors. */
    static OnnxSession wrap(OrtEnvironment env, OrtSession session, Path file) throws OrtException {
        return new OnnxSession(env, session, file);
    }

    /** Opens a model by path (external data next to it resolves on its own). */
    static OnnxSession open(OrtEnvironment env, Path file, OrtSession.SessionOptions options) throws InvalidModelException {
        if (!Files.isRegularFile(file)) throw new InvalidModelException("model file not found: " + file);
        try {
            return new OnnxSession(env, env.createSession(file.toString(), options), file);
        } catch (OrtException e) {
            throw new InvalidModelException("ONNX Runtime cannot load " + file + ": " + e.getMessage(), e);
        }
    }

    /** Opens a model from bytes (a rewritten graph); {@code origin} names it in errors. */
    static OnnxSession open(OrtEnvironment env, byte[] model, Path origin, OrtSession.SessionOptions options)
            throws InvalidModelException {
        try {
            return new OnnxSession(env, env.createSession(model, options), origin);
        } catch (OrtException e) {
            throw new InvalidModelException("ONNX Runtime cannot load " + origin + ": " + e.getMessage(), e);
        }
    }

    /**
     * Finds the input playing {@code role}: the first of {@code names} the model has, of one of
     * the {@code types}, with {@code rank} dimensions.
     */
    Port input(String role, List<String> names, Set<OnnxJavaType> types, int rank) throws InvalidModelException {
        return find("input", inputs, role, names, types, rank);
    }

    Port output(String role, List<String> names, Set<OnnxJavaType> types, int rank) throws InvalidModelException {
        return find("output", outputs, role, names, types, rank);
    }

    private Port find(String kind, Map<String, NodeInfo> ports, String role, List<String> names,
                      Set<OnnxJavaType> types, int rank) throws InvalidModelException {
        for (String name : names) {
            NodeInfo info = ports.get(name);
            if (info == null) continue;
            if (!(info.getInfo() instanceof TensorInfo ti)) {
                throw new InvalidModelException(file + ": " + kind + " '" + name + "' (" + role + ") should be a tensor, found "
                        + info.getInfo());
            }
            if (!types.contains(ti.type)) {
                throw new InvalidModelException(file + ": " + kind + " '" + name + "' (" + role + ") should have element type "
                        + describe(types) + ", found " + ti.type);
            }
            if (rank >= 0 && ti.getShape().length != rank) {
                throw new InvalidModelException(file + ": " + kind + " '" + name + "' (" + role + ") should have " + rank
                        + " dimensions, found " + ti.getShape().length);
            }
            return new Port(name, ti.type, ti.getShape());
        }
        throw new InvalidModelException(file + ": expected an " + kind + " named " + String.join(" or ", quoted(names))
                + " (" + role + "), found " + kind + "s " + portList(ports));
    }

    private static List<String> quoted(List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) out.add("'" + n + "'");
        return out;
    }

    private static String describe(Set<OnnxJavaType> types) {
        List<String> s = new ArrayList<>();
        for (OnnxJavaType t : types) s.add(t.toString());
        return String.join(" or ", s);
    }

    private static String portList(Map<String, NodeInfo> ports) {
        List<String> s = new ArrayList<>();
        for (var e : ports.entrySet()) {
            if (e.getValue().getInfo() instanceof TensorInfo ti) {
                s.add(e.getKey() + " " + ti.type + java.util.Arrays.toString(ti.getShape()));
            } else {
                s.add(e.getKey());
            }
        }
        return s.toString();
    }

    Map<String, NodeInfo> inputInfo() {
        return inputs;
    }

    Map<String, NodeInfo> outputInfo() {
        return outputs;
    }

    OrtEnvironment env() {
        return env;
    }

    OrtSession session() {
        return session;
    }

    Path file() {
        return file;
    }

    /** How the session was set up (shapes, provider, optimised-model cache), for reports. */
    String setup() {
        return setup;
    }

    void setup(String description) {
        this.setup = description;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the session of " + file + " failed", e);
        }
    }
}
