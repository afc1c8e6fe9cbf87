package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.OnnxWriter;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.convert.UnetConfig;
import io.streamdiffusion4j.convert.UnetControlInputs;
import io.streamdiffusion4j.convert.UnetGraph;
import io.streamdiffusion4j.model.ControlNetNames;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.weights.WeightFiles;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The UNet with ControlNet inputs splits like the plain one: the residual inputs are per-frame
 * values, read only by the main graph, and the split graphs give the whole graph's outputs.
 */
class UnetControlSplitTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void residualInputsStayInTheMainGraph(@TempDir Path dir) throws Exception {
        RandomModels.create(ModelPreset.TINY, 3, dir.resolve("tiny"), null);
        Path unet = dir.resolve("tiny/unet");
        Path plain = dir.resolve("plain");
        try (var w = WeightFiles.openFolder(unet)) {
            OnnxWriter.write(UnetGraph.build(w, UnetConfig.read(unet.resolve("config.json")), false), plain, null);
        }
        Files.copy(unet.resolve("config.json"), plain.resolve("config.json"));
        Path variant = dir.resolve("variant");
        int down = UnetControlInputs.writeVariant(plain, variant);
        Path file = variant.resolve("model.onnx");

        UnetConditioningSplit split = UnetConditioningSplit.plan(Files.readAllBytes(file), file, "sample", "timestep",
                "encoder_hidden_states").orElseThrow();
        List<String> residuals = ControlNetNames.residuals(down);
        assertThat(split.conditioningInputs()).doesNotContainAnyElementsOf(residuals);
        assertThat(split.conditioningNodeNames()).noneMatch(n -> n.startsWith("/controlnet/"));

        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession all = ENV.createSession(file.toString(), so)) {
            // the split graphs keep the weights' external-data references, relative to the variant's folder
            so.addConfigEntry("session.model_external_initializers_file_folder_path", variant.toAbsolutePath().toString());
            run(split, so, all, down, residuals);
        }
    }

    /**
     * The ControlNet graph has the UNet's conditioning inputs, so the same split pre-computes its
     * time embedding and cross-attention K/V; the conditioning image and scale stay per frame.
     */
    @Test
    void controlNetSplitsTheSameWay(@TempDir Path dir) throws Exception {
        RandomModels.createControlNet(io.streamdiffusion4j.convert.ControlNetPreset.TINY, 3, dir.resolve("cn"), null);
        Path out = dir.resolve("onnx");
        io.streamdiffusion4j.convert.DiffusersConverter.convertControlNet(dir.resolve("cn"), out, false,
                io.streamdiffusion4j.convert.DiffusersConverter.Progress.NONE);
        Path file = out.resolve("model.onnx");
        UnetConditioningSplit split = UnetConditioningSplit.plan(Files.readAllBytes(file), file, ControlNetNames.SAMPLE,
                ControlNetNames.TIMESTEP, ControlNetNames.ENCODER_HIDDEN_STATES).orElseThrow();
        assertThat(split.conditioningInputs()).doesNotContain(ControlNetNames.CONTROLNET_COND, ControlNetNames.CONDITIONING_SCALE);
        assertThat(split.conditioningNodeNames()).anyMatch(n -> n.contains("MatMul"));
    }

    private static void run(UnetConditioningSplit split, OrtSession.SessionOptions so, OrtSession all, int down,
                            List<String> residuals) throws Exception {
        TorchGenerator gen = new TorchGenerator(4);
        int[] sides = {8, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1};
        int[] channels = {16, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32, 32};
        Map<String, OnnxTensor> whole = new LinkedHashMap<>();
        try (OrtSession cond = ENV.createSession(split.conditioningGraph(), so)) {
            whole.put("sample", tensor(gen.randn(2, 4, 8, 8)));
            whole.put("timestep", OnnxTensor.createTensor(ENV, LongBuffer.wrap(new long[] {999, 259}), new long[] {2}));
            whole.put("encoder_hidden_states", tensor(gen.randn(2, 77, 16)));
            for (int k = 0; k < down; k++) whole.put(ControlNetNames.downResidual(k), tensor(gen.randn(2, channels[k], sides[k], sides[k])));
            whole.put(ControlNetNames.MID_RESIDUAL, tensor(gen.randn(2, 32, 1, 1)));
            float[] expected;
            try (OrtSession.Result r = all.run(whole)) {
                expected = ((OnnxTensor) r.get(0)).getFloatBuffer().array().clone();
            }
            Map<String, TypeProto> types = new HashMap<>();
            for (Map.Entry<String, NodeInfo> o : cond.getOutputInfo().entrySet()) types.put(o.getKey(), typeOf((TensorInfo) o.getValue().getInfo()));
            Map<String, OnnxTensor> condIn = new HashMap<>();
            for (String n : split.conditioningInputs()) condIn.put(n, whole.get(n));
            try (OrtSession main = ENV.createSession(split.mainGraph(types), so);
                 OrtSession.Result c = cond.run(condIn)) {
                assertThat(main.getInputNames()).containsAll(residuals);
                Map<String, OnnxTensor> in = new HashMap<>();
                for (String n : main.getInputNames()) if (whole.containsKey(n)) in.put(n, whole.get(n));
                for (Map.Entry<String, OnnxValue> v : c) in.put(v.getKey(), (OnnxTensor) v.getValue());
                try (OrtSession.Result r = main.run(in)) {
                    float[] actual = ((OnnxTensor) r.get(0)).getFloatBuffer().array();
                    assertThat(actual).hasSameSizeAs(expected);
                    double worst = 0;
                    for (int i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
                    assertThat(worst).isLessThan(1e-5);
                }
            }
        } finally {
            whole.values().forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor tensor(FloatTensor t) throws Exception {
        return OnnxTensor.createTensor(ENV, FloatBuffer.wrap(t.data()), t.shapeAsLongs());
    }

    private static TypeProto typeOf(TensorInfo ti) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : ti.getShape()) {
            TensorShapeProto.Dimension.Builder b = TensorShapeProto.Dimension.newBuilder();
            if (d > 0) b.setDimValue(d);
            shape.addDim(b);
        }
        int elem = ti.type == OnnxJavaType.INT64 ? 7 : 1;
        return TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elem).setShape(shape)).build();
    }
}
