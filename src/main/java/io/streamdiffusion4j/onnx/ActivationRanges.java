package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.convert.StaticInt8Quantizer.Range;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Measures the range of a float model's intermediate tensors over calibration inputs, for
 * static int8 quantization: the model is run with those tensors added to its outputs.
 */
public final class ActivationRanges {
    /** The ranges of the asked tensors over all runs, and the model's first output of each run. */
    public record Measured(Map<String, Range> ranges, List<float[]> outputs, long[] outputShape) {}

    /** One input of one run: float values, or integer ones (given to the model as int32 or int64, as it declares). */
    public record Input(String name, long[] shape, float[] floats, long[] ints) {
        public static Input floats(String name, long[] shape, float[] values) {
            return new Input(name, shape, values, null);
        }

        public static Input ints(String name, long[] shape, long[] values) {
            return new Input(name, shape, null, values);
        }
    }

    private ActivationRanges() {}

    /** Runs {@code modelFile} (external data beside it) once per input, all of {@code inputShape}, fed to its single input. */
    public static Measured measure(Path modelFile, Set<String> tensors, List<float[]> inputs, long[] inputShape)
            throws IOException {
        String input = readModel(modelFile).getGraph().getInput(0).getName();
        List<List<Input>> runs = new ArrayList<>();
        for (float[] x : inputs) runs.add(List.of(Input.floats(input, inputShape, x)));
        return measure(modelFile, tensors, runs);
    }

    /** Runs {@code modelFile} (external data beside it) once per entry of {@code runs}. */
    public static Measured measure(Path modelFile, Set<String> tensors, List<List<Input>> runs) throws IOException {
        return measure(modelFile, tensors, runs, null);
    }

    /**
     * Runs {@code modelFile} (external data beside it) once per entry of {@code runs}.
     *
     * @param output the output whose values {@link Measured#outputs} holds, or null for the first
     */
    public static Measured measure(Path modelFile, Set<String> tensors, List<List<Input>> runs, String output)
            throws IOException {
        ModelProto model = readModel(modelFile);
        GraphProto g = model.getGraph();
        if (output == null) output = g.getOutput(0).getName();
        Set<String> existing = new HashSet<>();
        for (ValueInfoProto v : g.getOutputList()) existing.add(v.getName());
        GraphProto.Builder withOutputs = g.toBuilder();
        for (String t : tensors) {
            if (existing.add(t)) {
                withOutputs.addOutput(ValueInfoProto.newBuilder().setName(t).setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
            }
        }
        byte[] bytes = model.toBuilder().setGraph(withOutputs).build().toByteArray();
        ThreadSettings threads = ThreadSettings.defaults();
        OrtEnvironment env = OrtRuntime.environment(threads);
        Map<String, Range> ranges = new LinkedHashMap<>();
        List<float[]> outputs = new ArrayList<>();
        long[] outputShape = null;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            Path folder = modelFile.toAbsolutePath().getParent();
            if (folder != null) {
                ExternalDataFolder home = ExternalDataFolder.of(bytes, folder);
                bytes = home.model();
                so.addConfigEntry("session.model_external_initializers_file_folder_path", home.folder().toString());
            }
            OrtRuntime.applyThreading(so, threads);
            // fusions would not change the values, and the tensors asked for are outputs, so kept
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            try (OrtSession session = env.createSession(bytes, so)) {
                for (List<Input> run : runs) {
                    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
                    try {
                        for (Input in : run) feeds.put(in.name(), tensor(env, session, in, modelFile));
                        try (OrtSession.Result r = session.run(feeds)) {
                            for (String t : tensors) ranges.merge(t, range(r, t, modelFile), Range::union);
                            String name = output;
                            OnnxTensor out = (OnnxTensor) r.get(name).orElseThrow(() -> new IllegalArgumentException(
                                    modelFile + " has no output '" + name + "'"));
                            outputShape = out.getInfo().getShape();
                            FloatBuffer fb = out.getFloatBuffer();
                            float[] values = new float[fb.remaining()];
                            fb.get(values);
                            outputs.add(values);
                        }
                    } finally {
                        feeds.values().forEach(OnnxTensor::close);
                    }
                }
            }
        } catch (OrtException e) {
            throw new IOException(modelFile + ": calibration run failed: " + e.getMessage(), e);
        }
        return new Measured(ranges, outputs, outputShape);
    }

    private static OnnxTensor tensor(OrtEnvironment env, OrtSession session, Input in, Path modelFile) throws OrtException {
        if (in.floats() != null) return OnnxTensor.createTensor(env, FloatBuffer.wrap(in.floats()), in.shape());
        var info = session.getInputInfo().get(in.name());
        if (info == null) throw new IllegalArgumentException(modelFile + " has no input '" + in.name() + "'");
        OnnxJavaType type = ((TensorInfo) info.getInfo()).type;
        if (type == OnnxJavaType.FLOAT) {
            float[] v = new float[in.ints().length];
            for (int i = 0; i < v.length; i++) v[i] = in.ints()[i];
            return OnnxTensor.createTensor(env, FloatBuffer.wrap(v), in.shape());
        }
        if (type == OnnxJavaType.INT32) {
            int[] v = new int[in.ints().length];
            for (int i = 0; i < v.length; i++) v[i] = Math.toIntExact(in.ints()[i]);
            return OnnxTensor.createTensor(env, IntBuffer.wrap(v), in.shape());
        }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(in.ints()), in.shape());
    }

    private static ModelProto readModel(Path modelFile) throws IOException {
        try (InputStream in = Files.newInputStream(modelFile)) {
            return ModelProto.parseFrom(in);
        }
    }

    private static Range range(OrtSession.Result r, String name, Path modelFile) throws OrtException {
        OnnxValue v = r.get(name).orElseThrow(() -> new IllegalStateException(modelFile + ": no tensor '" + name + "'"));
        FloatBuffer fb = ((OnnxTensor) v).getFloatBuffer();
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        while (fb.hasRemaining()) {
            float x = fb.get();
            if (x < min) min = x;
            if (x > max) max = x;
        }
        if (!(min <= max)) throw new IllegalStateException(modelFile + ": tensor '" + name + "' has no finite values to calibrate on");
        return new Range(min, max);
    }
}
