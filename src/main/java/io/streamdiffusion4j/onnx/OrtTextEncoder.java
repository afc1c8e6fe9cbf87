package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The CLIP text encoder on ONNX Runtime: {@code input_ids -> last_hidden_state}. */
public final class OrtTextEncoder implements TextEncoder {
    private final OnnxSession session;
    private final Port ids;
    private final Port hidden;
    private final int hiddenSize;
    private final PinnedRun run;

    OrtTextEncoder(OnnxSession session, ComponentConfig config) throws InvalidModelException {
        this.session = session;
        try {
            ids = session.input("token ids", List.of("input_ids"), Set.of(OnnxJavaType.INT32, OnnxJavaType.INT64), 2);
            hidden = session.output("last hidden state", List.of("last_hidden_state"),
                    Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16), 3);
            long fixed = hidden.fixedDim(2);
            int configured = config.intValue("hidden_size");
            if (fixed > 0 && configured > 0 && fixed != configured) {
                throw new InvalidModelException(session.file() + ": last_hidden_state has width " + fixed + " but "
                        + config.file() + " says hidden_size = " + configured);
            }
            hiddenSize = fixed > 0 ? (int) fixed : configured;
            if (hiddenSize <= 0) {
                throw new InvalidModelException(session.file() + ": the width of last_hidden_state is dynamic and "
                        + config.file() + " has no 'hidden_size'");
            }
        } catch (InvalidModelException e) {
            session.close();
            throw e;
        }
        run = new PinnedRun(session, new Port[] {ids}, new Port[] {hidden});
    }

    static Map<String, long[]> staticInputs() {
        return Map.of("input_ids", new long[] {1, StaticShapes.TEXT_SEQUENCE});
    }

    @Override
    public synchronized FloatTensor encode(int[] tokenIds) {
        long[] values = new long[tokenIds.length];
        for (int i = 0; i < values.length; i++) values[i] = tokenIds[i];
        try {
            run.input(0, new long[] {1, tokenIds.length}).writeIntegers(values);
            run.run();
            DirectTensor out = run.output(0);
            float[] h = new float[out.size()];
            out.readFloats(h);
            return new FloatTensor(h, OnnxTensors.intShape(out.shape()));
        } catch (OrtException e) {
            throw new IllegalStateException("text encoder " + session.file() + " failed: " + e.getMessage(), e);
        }
    }

    public RunStats runStats() {
        return run.stats();
    }

    public String setup() {
        return session.setup();
    }

    @Override
    public int hiddenSize() {
        return hiddenSize;
    }

    @Override
    public synchronized void close() {
        run.close();
        session.close();
    }
}
