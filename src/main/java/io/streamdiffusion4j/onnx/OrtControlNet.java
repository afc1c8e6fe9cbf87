package io.streamdiffusion4j.onnx;

import io.streamdiffusion4j.model.ControlNetNames;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import io.streamdiffusion4j.model.ControlNet;
import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A ControlNet on ONNX Runtime, with the input and output names of {@link ControlNetNames}.
 * Inputs go through reused direct buffers and the outputs are pinned ({@link PinnedRun}); each
 * call returns the residuals in arrays of their own (the pipeline sums several ControlNets').
 * Calls are synchronized, like {@link OrtUnet}'s.
 */
public final class OrtControlNet implements ControlNet {
    private static final Set<OnnxJavaType> FLOAT = Set.of(OnnxJavaType.FLOAT);
    private static final Set<OnnxJavaType> TIMESTEPS = Set.of(OnnxJavaType.INT64);

    private final OnnxSession session;
    private final PinnedRun run;
    private final Port[] outputs;
    private final int channels;
    private final Map<List<Integer>, List<int[]>> shapesBySample = new HashMap<>();
    private final float[] scaleValue = new float[1];

    private OrtControlNet(OnnxSession session) throws InvalidModelException {
        this.session = session;
        String where = session.file().toString();
        Port sample = session.input("noisy latents", List.of(ControlNetNames.SAMPLE), FLOAT, 4);
        Port timestep = session.input("one timestep per row", List.of(ControlNetNames.TIMESTEP), TIMESTEPS, 1);
        Port hidden = session.input("prompt embeddings", List.of(ControlNetNames.ENCODER_HIDDEN_STATES), FLOAT, 3);
        Port cond = session.input("control images in [0, 1]", List.of(ControlNetNames.CONTROLNET_COND), FLOAT, 4);
        Port scale = session.input("conditioning scale", List.of(ControlNetNames.CONDITIONING_SCALE), FLOAT, 1);
        List<String> names = residualNames(session.outputInfo().keySet(), where);
        if (names.isEmpty()) {
            throw new InvalidModelException(where + ": a ControlNet gives " + ControlNetNames.DOWN_RESIDUAL_PREFIX + "0..N-1 and "
                    + ControlNetNames.MID_RESIDUAL + ", found outputs " + session.outputInfo().keySet());
        }
        outputs = new Port[names.size()];
        for (int i = 0; i < outputs.length; i++) outputs[i] = session.output("ControlNet residual", List.of(names.get(i)), FLOAT, 4);
        channels = (int) sample.fixedDim(1);
        run = new PinnedRun(session, new Port[] {sample, timestep, hidden, cond, scale}, outputs);
    }

    /** {@link ControlNetNames#residualsIn} of a graph's names, a bad set being an invalid model. */
    static List<String> residualNames(java.util.Collection<String> names, String where) throws InvalidModelException {
        try {
            return ControlNetNames.residualsIn(names, where);
        } catch (IllegalArgumentException e) {
            throw new InvalidModelException(e.getMessage());
        }
    }

    /** Opens the ControlNet graph at {@code file} with the sessions' settings (provider, threads, cache). */
    static OrtControlNet open(SessionFactory sessions, Path file) throws IOException {
        OnnxSession session = sessions.open(file, Map.of());
        try {
            return new OrtControlNet(session);
        } catch (InvalidModelException | RuntimeException e) {
            session.close();
            throw e;
        }
    }

    @Override
    public synchronized ControlResiduals residuals(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates,
                                                   FloatTensor controlImages, float scale) {
        int rows = sample.rows();
        if (timesteps.length != rows || encoderHiddenStates.rows() != rows || controlImages.rows() != rows) {
            throw new IllegalArgumentException("ControlNet batch mismatch: " + rows + " sample rows, " + timesteps.length
                    + " timesteps, " + encoderHiddenStates.rows() + " embedding rows, " + controlImages.rows() + " control images");
        }
        if (controlImages.rank() != 4 || controlImages.dim(1) != 3 || controlImages.dim(2) != 8 * sample.dim(2)
                || controlImages.dim(3) != 8 * sample.dim(3)) {
            throw new IllegalArgumentException("ControlNet control images must be (rows, 3, " + 8 * sample.dim(2) + ", "
                    + 8 * sample.dim(3) + ") for latents " + sample + ", found " + controlImages);
        }
        try {
            run.input(0, sample.shapeAsLongs()).writeFloats(sample.data());
            run.input(1, new long[] {rows}).writeIntegers(timesteps);
            run.input(2, encoderHiddenStates.shapeAsLongs()).writeFloats(encoderHiddenStates.data());
            run.input(3, controlImages.shapeAsLongs()).writeFloats(controlImages.data());
            scaleValue[0] = scale;
            run.input(4, new long[] {1}).writeFloats(scaleValue);
            run.run();
            List<FloatTensor> down = new ArrayList<>();
            FloatTensor mid = null;
            for (int i = 0; i < outputs.length; i++) {
                DirectTensor out = run.output(i);
                long[] s = out.shape();
                if (s.length != 4 || s[0] != rows) {
                    throw new IllegalStateException("ControlNet " + session.file() + " output '" + outputs[i].name() + "' has shape "
                            + Arrays.toString(s) + ", expected " + rows + " rows of 3 more axes");
                }
                float[] v = new float[out.size()];
                out.readFloats(v);
                FloatTensor t = new FloatTensor(v, (int) s[0], (int) s[1], (int) s[2], (int) s[3]);
                if (i < outputs.length - 1) down.add(t);
                else mid = t;
            }
            return new ControlResiduals(down, mid);
        } catch (OrtException e) {
            throw new IllegalStateException("ControlNet " + session.file() + " failed on " + sample + ": " + e.getMessage(), e);
        }
    }

    /**
     * From the graph's output shapes when they are fixed apart from the rows; otherwise found
     * once per sample shape by running the ControlNet on zeros (a one-time cost).
     */
    @Override
    public synchronized List<int[]> residualShapes(int[] sampleShape) {
        List<Integer> key = Arrays.stream(sampleShape).boxed().toList();
        List<int[]> known = shapesBySample.get(key);
        if (known != null) return copy(known);
        List<int[]> shapes = new ArrayList<>();
        try {
            Map<String, NodeInfo> info = session.outputInfo();
            for (Port p : outputs) {
                long[] dims = ((TensorInfo) info.get(p.name()).getInfo()).getShape();
                if (dims.length != 4 || dims[1] <= 0 || dims[2] <= 0 || dims[3] <= 0) {
                    shapes = null;
                    break;
                }
                shapes.add(new int[] {sampleShape[0], (int) dims[1], (int) dims[2], (int) dims[3]});
            }
        } catch (RuntimeException e) {
            shapes = null;
        }
        if (shapes == null) {
            int rows = sampleShape[0];
            FloatTensor sample = FloatTensor.zeros(sampleShape);
            int dim = hiddenDim();
            ControlResiduals probe = residuals(sample, new long[rows], FloatTensor.zeros(rows, StaticShapes.TEXT_SEQUENCE, dim),
                    FloatTensor.zeros(rows, 3, 8 * sampleShape[2], 8 * sampleShape[3]), 0f);
            shapes = probe.shapes();
        }
        shapesBySample.put(key, shapes);
        return copy(shapes);
    }

    private int hiddenDim() {
        try {
            long[] dims = ((TensorInfo) session.inputInfo().get(ControlNetNames.ENCODER_HIDDEN_STATES).getInfo()).getShape();
            if (dims[2] > 0) return (int) dims[2];
        } catch (RuntimeException e) {
            // fall through to the error below
        }
        throw new IllegalStateException("ControlNet " + session.file() + ": the width of '" + ControlNetNames.ENCODER_HIDDEN_STATES
                + "' is dynamic, so the residual shapes cannot be probed");
    }

    private static List<int[]> copy(List<int[]> shapes) {
        return shapes.stream().map(int[]::clone).toList();
    }

    /** Residual outputs (down blocks and the middle block). */
    public int residualCount() {
        return outputs.length;
    }

    /** Latent channels of the sample input, or -1 when the graph leaves them dynamic. */
    public int latentChannels() {
        return channels;
    }

    public String setup() {
        return session.setup();
    }

    @Override
    public synchronized void close() {
        run.close();
        session.close();
    }

    @Override
    public String toString() {
        return "ControlNet " + session.file();
    }
}
