package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import io.streamdiffusion4j.convert.Int8Quantizer;
import io.streamdiffusion4j.convert.StaticInt8Quantizer;
import io.streamdiffusion4j.fuzz.ByteMutator;
import io.streamdiffusion4j.fuzz.FuzzTarget;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.weights.OnnxInitializers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fuzz targets for ONNX loading, seeded with tiny generated graphs (a per-channel scale in
 * float32 and float16, with weights inside or in external data; a VAE encoder that samples
 * inside the graph like Optimum's; a float_data initializer): the project's own protobuf
 * readers (graph inputs, the encoder rewrite, initializers as weights) in the test JVM, and
 * ONNX Runtime's session creation (native) in a child JVM.
 */
public final class OnnxFuzzTargets {
    private static final List<String> TOKENS = List.of("Mul", "Add", "Identity", "Cast", "RandomNormalLike", "Exp", "Reshape",
            "Conv", "MatMul", "Gemm", "transB", "If", "Loop", "Scan", "sample", "latent_sample", "weight", "location", "offset", "length", "model.onnx_data",
            "../", "/etc/passwd", "batch", "com.microsoft", "ai.onnx.ml");

    private OnnxFuzzTargets() {}

    /**
     * The project's readers of ONNX protobuf: GraphInputs (symbolic dimensions, before a session
     * exists), the VAE-encoder rewrite, the UNet's conditioning split, the int8 quantizer (dynamic and static), and OnnxInitializers (ONNX weights read as named tensors,
     * the input can point to external data); errors must be IOExceptions with a message.
     */
    public static FuzzTarget protoReaders(Path work) {
        return new FuzzTarget("onnx-proto", () -> seeds(work), new ByteMutator(64 * 1024, TOKENS), input -> {
            Path origin = work.resolve("fuzz.onnx");
            GraphInputs.read(input, origin);
            VaeEncoderGraph.exposeDistribution(input, origin, "latent_sample");
            UnetConditioningSplit.plan(input, origin, "sample", "timestep", "latent_sample")
                    .ifPresent(UnetConditioningSplit::conditioningGraph);
            Files.write(origin, input);
            try (OnnxInitializers weights = OnnxInitializers.read(origin, "vae.")) {
                for (String name : weights.names()) {
                    weights.shape(name);
                    weights.floats(name);
                }
            }
            // --quantize int8 rewrites any model a user gives (every eligible layer, whatever its size)
            Int8Quantizer.quantizeFile(origin, work.resolve("int8"), Int8Quantizer.Policy.ALL);
            // and the static form of its convolutions (ranges as calibration would give them)
            StaticInt8Quantizer.Plan plan = StaticInt8Quantizer.plan(Int8Quantizer.read(origin));
            Map<String, StaticInt8Quantizer.Range> ranges = new java.util.HashMap<>();
            for (String t : plan.tensors()) ranges.put(t, new StaticInt8Quantizer.Range(-1, 1));
            Int8Quantizer.quantizeFile(origin, work.resolve("static-int8"), Int8Quantizer.Policy.ALL,
                    new Int8Quantizer.StaticConvs(plan, ranges));
        }, Set.of(IOException.class), false, 10000);
    }

    /**
     * Session creation by ONNX Runtime through the project's session factory (the path every
     * model load takes); refusals must be InvalidModelException. Native: runs in a child JVM.
     */
    public static FuzzTarget session(Path work) {
        OnnxModelLoader.Options options = new OnnxModelLoader.Options(1, OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return new FuzzTarget("onnx-session", () -> seeds(work), new ByteMutator(64 * 1024, TOKENS), input -> {
            ConfiguredSessions sessions = new ConfiguredSessions(options, new ExecutionProvider.Cpu());
            try (OnnxSession s = sessions.open(input, work.resolve("fuzz.onnx"), Map.of())) {
                s.inputInfo();
            }
        }, Set.of(InvalidModelException.class), true, 1500);
    }

    private static List<byte[]> seeds(Path work) {
        try {
            List<byte[]> out = new ArrayList<>();
            out.add(Files.readAllBytes(SyntheticModels.scaleModel(work.resolve("f32"), "sample", "out_sample", 4, false, false)));
            out.add(Files.readAllBytes(SyntheticModels.scaleModel(work.resolve("f16"), "latent_sample", "sample", 4, true, false)));
            // external weights: a copy of the data file lies next to where the target writes its input
            Path ext = SyntheticModels.scaleModel(work.resolve("ext"), "sample", "out_sample", 4, false, true);
            Files.copy(ext.resolveSibling("model.onnx_data"), work.resolve("model.onnx_data"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            out.add(Files.readAllBytes(ext));
            out.add(Files.readAllBytes(SyntheticModels.samplingEncoder(work.resolve("enc"))));
            // a weight in float_data instead of raw_data, under a wrapper prefix the reader strips
            ModelProto m = ModelProto.parseFrom(out.getFirst());
            TensorProto w = m.getGraph().getInitializer(0).toBuilder().setName("vae.weight").clearRawData()
                    .addFloatData(1).addFloatData(2).addFloatData(3).addFloatData(4).build();
            out.add(m.toBuilder().setGraph(m.getGraph().toBuilder().setInitializer(0, w)
                    .setNode(0, m.getGraph().getNode(0).toBuilder().setInput(1, "vae.weight"))).build().toByteArray());
            out.add(m.toBuilder().setGraph(m.getGraph().toBuilder().setDocString("doc")).setModelVersion(3)
                    .setDocString(ByteString.copyFromUtf8("x").toStringUtf8()).build().toByteArray());
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
