package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.OperatorSetIdProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The split on a small hand-built graph with the cases a UNet export may hold: a conditioning
 * node that reads the sample's shape, a main node that reads the timestep input itself, and a
 * random node on the prompt path (which must not move).
 */
class UnetConditioningSplitGraphTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final int F = TensorProto.DataType.FLOAT_VALUE;
    private static final int I64 = TensorProto.DataType.INT64_VALUE;

    /**
     * out = sum(sample) * t + t * channels(sample) + sum(E W) + 0 * RandomNormalLike(sum(E W)),
     * one value per row; timestep is float here so that a main node can take it as it is.
     */
    private static byte[] graph() {
        GraphProto g = GraphProto.newBuilder().setName("toy")
                .addNode(node("ReduceSum", "a", "sample", "axes123").addAttribute(intAttr("keepdims", 0)))
                .addNode(node("Mul", "b", "a", "timestep"))
                .addNode(node("Shape", "shape_c", "sample").addAttribute(intAttr("start", 1)).addAttribute(intAttr("end", 2)))
                .addNode(node("Cast", "c", "shape_c").addAttribute(intAttr("to", F)))
                .addNode(node("Mul", "d", "timestep", "c"))
                .addNode(node("MatMul", "k", "encoder_hidden_states", "w"))
                .addNode(node("ReduceSum", "e", "k", "axes12").addAttribute(intAttr("keepdims", 0)))
                .addNode(node("RandomNormalLike", "noise", "e"))
                .addNode(node("Mul", "z", "noise", "zero"))
                .addNode(node("Add", "bd", "b", "d"))
                .addNode(node("Add", "bde", "bd", "e"))
                .addNode(node("Add", "out_sample", "bde", "z"))
                .addInitializer(longs("axes123", 1, 2, 3))
                .addInitializer(longs("axes12", 1, 2))
                .addInitializer(floats("w", new long[] {3, 2}, 1, -2, 0.5f, 4, 3, 1))
                .addInitializer(floats("zero", new long[] {1}, 0))
                .addInput(SyntheticModels.tensor("sample", F, "batch", 4, 2, 2))
                .addInput(SyntheticModels.tensor("timestep", F, "batch"))
                .addInput(SyntheticModels.tensor("encoder_hidden_states", F, "batch", 5, 3))
                .addOutput(SyntheticModels.tensor("out_sample", F, "batch"))
                .build();
        return ModelProto.newBuilder().setIrVersion(10).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(g).build().toByteArray();
    }

    @Test
    void splitsAtTheConditioningAndGivesTheSameOutputs() throws Exception {
        byte[] model = graph();
        UnetConditioningSplit split = UnetConditioningSplit.plan(model, Path.of("toy.onnx"), "sample", "timestep",
                "encoder_hidden_states").orElseThrow();
        // d and e need only the conditioning (d reads the sample's shape); b reads the timestep input itself;
        // the random node stays in the main graph, which then reads the embeddings' projection sum e.
        assertThat(split.conditioningNodeNames()).containsExactlyInAnyOrder("Mul:d", "MatMul:k", "ReduceSum:e");
        assertThat(split.frontier()).containsExactlyInAnyOrder("d", "e", "timestep/precomputed");
        assertThat(split.conditioningInputs()).containsExactly("sample", "timestep", "encoder_hidden_states");

        int rows = 3;
        float[] sample = new float[rows * 16];
        for (int i = 0; i < sample.length; i++) sample[i] = (i % 7) * 0.25f - 0.5f;
        float[] t = {999, 500, 1};
        float[] hidden = new float[rows * 15];
        for (int i = 0; i < hidden.length; i++) hidden[i] = (i % 5) * 0.5f - 1;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(sample), new long[] {rows, 4, 2, 2});
             OnnxTensor ts = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(t), new long[] {rows});
             OnnxTensor e = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(hidden), new long[] {rows, 5, 3});
             OrtSession plain = ENV.createSession(model, so);
             OrtSession cond = ENV.createSession(split.conditioningGraph(), so)) {
            float[] expected;
            try (OrtSession.Result r = plain.run(Map.of("sample", x, "timestep", ts, "encoder_hidden_states", e))) {
                expected = ((float[]) r.get(0).getValue()).clone();
            }
            Map<String, TypeProto> types = new HashMap<>();
            for (Map.Entry<String, NodeInfo> o : cond.getOutputInfo().entrySet()) {
                types.put(o.getKey(), TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(F)
                        .setShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))))
                        .build());
            }
            try (OrtSession main = ENV.createSession(split.mainGraph(types), so);
                 OrtSession.Result c = cond.run(Map.of("sample", x, "timestep", ts, "encoder_hidden_states", e))) {
                assertThat(main.getInputNames()).containsExactlyInAnyOrder("sample", "d", "e", "timestep/precomputed");
                Map<String, OnnxTensor> in = new HashMap<>();
                in.put("sample", x);
                for (Map.Entry<String, OnnxValue> v : c) in.put(v.getKey(), (OnnxTensor) v.getValue());
                try (OrtSession.Result r = main.run(in)) {
                    assertThat((float[]) r.get(0).getValue()).containsExactly(expected);
                }
            }
            // sum(sample) * t + t * 4 + sum(E W) for row 0, worked out by hand from the inputs above
            double sumSample = 0;
            for (int i = 0; i < 16; i++) sumSample += sample[i];
            double sumEW = 0;
            float[][] w = {{1, -2}, {0.5f, 4}, {3, 1}};
            for (int s = 0; s < 5; s++) for (int j = 0; j < 2; j++) for (int k = 0; k < 3; k++) sumEW += hidden[s * 3 + k] * w[k][j];
            assertThat((double) expected[0]).isCloseTo(sumSample * 999 + 999 * 4 + sumEW, org.assertj.core.api.Assertions.within(1e-2));
        }
    }

    private static NodeProto.Builder node(String op, String out, String... in) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).addOutput(out);
        for (String i : in) n.addInput(i);
        return n;
    }

    private static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static TensorProto longs(String name, long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) b.putLong(x);
        return TensorProto.newBuilder().setName(name).setDataType(I64).addDims(v.length).setRawData(ByteString.copyFrom(b.array())).build();
    }

    private static TensorProto floats(String name, long[] dims, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(F).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

}
