package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Runs one session with reused inputs and pinned outputs. Callers write each input into
 * {@link #input}'s direct buffer and read outputs from {@link #output}. The first run with
 * new input shapes lets ONNX Runtime allocate the outputs, learns their shapes and allocates
 * our own; every later run with the same shapes writes straight into those (pinned outputs),
 * so a steady stream of frames allocates no buffers and copies nothing twice.
 *
 * <p>Not thread-safe: the model classes that own one ({@code OrtUnet}, {@code OrtVaeEncoder},
 * {@code OrtVaeDecoder}, {@code OrtTextEncoder}) take one call at a time, so streams that share
 * loaded models (a server's sessions) never see each other's buffers.
 */
final class PinnedRun implements AutoCloseable {
    private final OnnxSession session;
    private final Port[] inputs;
    private final Port[] outputs;
    private final DirectTensor[] in;
    private final DirectTensor[] out;
    // Inputs bound with bind(): tensors the caller owns (not closed here).
    private final boolean[] borrowed;
    private final Set<String> outputNames = new LinkedHashSet<>();
    private final RunStats stats = new RunStats();
    private Map<String, OnnxTensor> inputMap;
    private Map<String, OnnxValue> outputMap;
    private long rows = 1;

    PinnedRun(OnnxSession session, Port[] inputs, Port[] outputs) {
        this.session = session;
        this.inputs = inputs.clone();
        this.outputs = outputs.clone();
        this.in = new DirectTensor[inputs.length];
        this.out = new DirectTensor[outputs.length];
        this.borrowed = new boolean[inputs.length];
        for (Port p : outputs) outputNames.add(p.name());
    }

    /** A runner of the same session and ports with buffers of its own. */
    PinnedRun sibling() {
        return new PinnedRun(session, inputs, outputs);
    }

    /** The buffer of input {@code i} with {@code shape}; a new shape replaces the buffer and unpins the outputs. */
    DirectTensor input(int i, long[] shape) throws OrtException {
        DirectTensor t = in[i];
        if (t != null && !borrowed[i] && t.hasShape(shape)) return t;
        if (t != null && !borrowed[i]) t.close();
        in[i] = null;
        in[i] = DirectTensor.allocate(session.env(), inputs[i].type(), shape);
        borrowed[i] = false;
        if (i == 0) rows = shape.length > 0 ? shape[0] : 1;
        inputMap = null;
        unpinOutputs();
        return in[i];
    }

    /**
     * Feeds input {@code i} from a tensor the caller owns and keeps alive while it is bound (a
     * pre-computed value that many runs read). Binding the same tensor again costs nothing; one
     * of another shape unpins the outputs.
     */
    void bind(int i, DirectTensor t) {
        DirectTensor prior = in[i];
        if (prior == t) return;
        boolean sameShape = prior != null && Arrays.equals(prior.shape(), t.shape());
        if (prior != null && !borrowed[i]) prior.close();
        in[i] = t;
        borrowed[i] = true;
        if (i == 0) rows = t.shape().length > 0 ? t.shape()[0] : 1;
        inputMap = null;
        if (!sameShape) unpinOutputs();
    }

    /** Runs the model on the current inputs; the outputs are then in {@link #output}. */
    void run() throws OrtException {
        if (inputMap == null) {
            Map<String, OnnxTensor> m = new HashMap<>();
            for (int i = 0; i < inputs.length; i++) {
                if (in[i] == null) throw new IllegalStateException("input '" + inputs[i].name() + "' was not written");
                m.put(inputs[i].name(), in[i].tensor());
            }
            inputMap = m;
        }
        if (outputMap == null) {
            long start = System.nanoTime();
            try (OrtSession.Result r = session.session().run(inputMap, outputNames)) {
                stats.add(System.nanoTime() - start, rows);
                Map<String, OnnxValue> m = new HashMap<>();
                for (int i = 0; i < outputs.length; i++) {
                    OnnxTensor produced = (OnnxTensor) r.get(outputs[i].name()).orElseThrow();
                    out[i] = DirectTensor.allocate(session.env(), outputs[i].type(), produced.getInfo().getShape());
                    out[i].copyFrom(produced);
                    m.put(outputs[i].name(), out[i].tensor());
                }
                outputMap = m;
            }
            return;
        }
        long start = System.nanoTime();
        // The result holds our own tensors (it does not own them), so closing it frees nothing of ours.
        try (OrtSession.Result r = session.session().run(inputMap, outputMap)) {
            stats.add(System.nanoTime() - start, rows);
        }
    }

    DirectTensor output(int i) {
        if (out[i] == null) throw new IllegalStateException("run() first");
        return out[i];
    }

    RunStats stats() {
        return stats;
    }

    private void unpinOutputs() {
        for (int i = 0; i < out.length; i++) {
            if (out[i] != null) out[i].close();
            out[i] = null;
        }
        outputMap = null;
    }

    @Override
    public void close() {
        unpinOutputs();
        for (int i = 0; i < in.length; i++) {
            if (in[i] != null && !borrowed[i]) in[i].close();
            in[i] = null;
        }
    }
}
