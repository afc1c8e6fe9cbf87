package io.streamdiffusion4j.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs an ONNX file once with ONNX Runtime: for comparing converted graphs with reference exports. */
public final class OrtRunner {
    private OrtRunner() {}

    /** Inputs: FloatTensor (float32), long[] (int64 [n]) or int[][] (int32 [rows][cols]). */
    public static Map<String, FloatTensor> run(Path model, Map<String, Object> inputs) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OnnxTensor> tensors = new ArrayList<>();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(model.toString(), so)) {
            Map<String, OnnxTensor> feed = new LinkedHashMap<>();
            for (var e : inputs.entrySet()) {
                OnnxTensor t;
                if (e.getValue() instanceof FloatTensor f) {
                    t = OnnxTensor.createTensor(env, FloatBuffer.wrap(f.data()), f.shapeAsLongs());
                } else if (e.getValue() instanceof long[] l) {
                    t = OnnxTensor.createTensor(env, LongBuffer.wrap(l), new long[] {l.length});
                } else if (e.getValue() instanceof int[][] ids) {
                    int[] flat = new int[ids.length * ids[0].length];
                    for (int r = 0; r < ids.length; r++) System.arraycopy(ids[r], 0, flat, r * ids[0].length, ids[0].length);
                    var info = s.getInputInfo().get(e.getKey()).getInfo();
                    if (info.toString().contains("INT64")) {
                        long[] l64 = new long[flat.length];
                        for (int i = 0; i < flat.length; i++) l64[i] = flat[i];
                        t = OnnxTensor.createTensor(env, LongBuffer.wrap(l64), new long[] {ids.length, ids[0].length});
                    } else {
                        t = OnnxTensor.createTensor(env, IntBuffer.wrap(flat), new long[] {ids.length, ids[0].length});
                    }
                } else {
                    throw new IllegalArgumentException("unsupported input " + e.getKey());
                }
                tensors.add(t);
                feed.put(e.getKey(), t);
            }
            Map<String, FloatTensor> out = new LinkedHashMap<>();
            try (OrtSession.Result r = s.run(feed)) {
                for (var e : r) {
                    OnnxTensor t = (OnnxTensor) e.getValue();
                    long[] shape = t.getInfo().getShape();
                    int[] s32 = new int[shape.length];
                    for (int i = 0; i < shape.length; i++) s32[i] = (int) shape[i];
                    float[] d = new float[(int) FloatTensor.numel(s32)];
                    if (t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT16) {
                        var sb = t.getShortBuffer();
                        for (int i = 0; i < d.length; i++) d[i] = Float.float16ToFloat(sb.get(i));
                    } else {
                        t.getFloatBuffer().get(d);
                    }
                    out.put(e.getKey(), new FloatTensor(d, s32));
                }
            }
            return out;
        } finally {
            tensors.forEach(OnnxTensor::close);
        }
    }
}
