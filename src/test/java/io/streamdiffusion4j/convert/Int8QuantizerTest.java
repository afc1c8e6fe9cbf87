package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.OperatorSetIdProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The int8 rewrite on small hand-built graphs, run on ONNX Runtime's CPU provider against the float graph. */
class Int8QuantizerTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void perChannelScalesAreTheLargestMagnitudeOver127AndWeightsDequantizeWithinHalfAStep() {
        Random r = new Random(3);
        int k = 5, n = 4;
        float[] w = new float[k * n]; // [K, N]: channel = column
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian() * (1 + i % n); // columns of different ranges
        w[2 * n + 3] = -9f; // the largest magnitude of column 3, negative
        float[] s = Int8Quantizer.scales(w, n, true);
        for (int c = 0; c < n; c++) {
            float max = 0;
            for (int row = 0; row < k; row++) max = Math.max(max, Math.abs(w[row * n + c]));
            assertThat(s[c]).isEqualTo(max / 127);
        }
        assertThat(s[3]).isEqualTo(9f / 127);
        byte[] q = Int8Quantizer.quantize(w, s, true);
        for (int i = 0; i < w.length; i++) {
            float step = s[i % n];
            assertThat(Math.abs(q[i] * step - w[i])).as("weight %d", i).isLessThanOrEqualTo(step / 2 * 1.0001f);
        }
        assertThat(q[2 * n + 3]).isEqualTo((byte) -127);

        // Conv [M, C, kh, kw]: channel = first axis; an all-zero channel stays zero
        float[] conv = new float[3 * 2 * 2 * 2];
        for (int i = 8; i < conv.length; i++) conv[i] = (float) r.nextGaussian();
        float[] cs = Int8Quantizer.scales(conv, 3, false);
        byte[] cq = Int8Quantizer.quantize(conv, cs, false);
        for (int i = 0; i < 8; i++) assertThat(cq[i]).isZero();
        for (int m = 1; m < 3; m++) {
            float max = 0;
            for (int i = m * 8; i < m * 8 + 8; i++) max = Math.max(max, Math.abs(conv[i]));
            assertThat(cs[m]).isEqualTo(max / 127);
            for (int i = m * 8; i < m * 8 + 8; i++) assertThat(Math.abs(cq[i] * cs[m] - conv[i])).isLessThanOrEqualTo(cs[m] / 2 * 1.0001f);
        }
    }

    /**
     * y = x W with W [K, N] stored as external data. The int8 graph's error per output is bounded by
     * the two quantization errors: |x_k| <= half a weight step s_n / 2 from each weight, half an
     * activation step (range including 0, over 255) from each input, and their product.
     */
    @Test
    void quantizedMatMulRunsAsDynamicQuantizeMatMulWithinTheBoundOfItsScales(@TempDir Path dir) throws Exception {
        int rows = 6, k = 16, n = 8;
        Random r = new Random(5);
        float[] w = gaussian(r, k * n, 0.3);
        float[] x = gaussian(r, rows * k, 1.0);
        Path src = dir.resolve("float");
        writeModel(src, graph("mm", List.of(
                NodeProto.newBuilder().setOpType("MatMul").setName("linear").addInput("x").addInput("w").addOutput("y").build())),
                List.of(floats("w", w, true, k, n)));

        Int8Quantizer.Report report = Int8Quantizer.quantizeFile(src.resolve("model.onnx"), dir.resolve("int8"), Int8Quantizer.Policy.ALL);
        assertThat(report.matMuls()).isEqualTo(1);
        assertThat(opTypes(dir.resolve("int8/model.onnx"))).containsExactly("DynamicQuantizeMatMul");
        // ONNX Runtime keeps the int8 kernel: its own optimised graph still has it
        assertThat(optimizedOpTypes(dir.resolve("int8/model.onnx"), dir.resolve("opt.onnx"))).contains("DynamicQuantizeMatMul");

        float[] yf = run(src.resolve("model.onnx"), x, rows, k);
        float[] yq = run(dir.resolve("int8/model.onnx"), x, rows, k);
        float[] s = Int8Quantizer.scales(w, n, true);
        for (int row = 0; row < rows; row++) {
            float sx = activationStep(x, row * k, k);
            for (int c = 0; c < n; c++) {
                double bound = 0;
                for (int i = 0; i < k; i++) {
                    bound += Math.abs(x[row * k + i]) * s[c] / 2 + Math.abs(w[i * n + c]) * sx / 2 + sx * s[c] / 4;
                }
                assertThat((double) Math.abs(yq[row * n + c] - yf[row * n + c])).as("y[%d,%d]", row, c)
                        .isLessThanOrEqualTo(bound * 1.01 + 1e-5);
            }
        }
        // and it is not the float graph by accident: the int8 result differs from it
        assertThat(yq).isNotEqualTo(yf);
    }

    /** Gemm(x, W^T, b) (Optimum's linear layers with transB) becomes the same kernel with the bias fused. */
    @Test
    void gemmWithTransposedWeightAndBiasIsQuantizedLikeMatMul(@TempDir Path dir) throws Exception {
        int rows = 3, k = 12, n = 5;
        Random r = new Random(9);
        float[] wt = gaussian(r, n * k, 0.2); // [N, K]
        float[] b = gaussian(r, n, 1.0);
        float[] x = gaussian(r, rows * k, 1.0);
        Path src = dir.resolve("float");
        writeModel(src, graph("gemm", List.of(NodeProto.newBuilder().setOpType("Gemm").addInput("x").addInput("w").addInput("b")
                .addOutput("y").addAttribute(AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1))
                .build())), List.of(floats("w", wt, false, n, k), floats("b", b, false, n)));
        Int8Quantizer.quantizeFile(src.resolve("model.onnx"), dir.resolve("int8"), Int8Quantizer.Policy.ALL);
        assertThat(opTypes(dir.resolve("int8/model.onnx"))).containsExactly("DynamicQuantizeMatMul");
        float[] yf = run2d(src.resolve("model.onnx"), x, rows, k);
        float[] yq = run2d(dir.resolve("int8/model.onnx"), x, rows, k);
        float[] w = new float[k * n];
        for (int c = 0; c < n; c++) for (int i = 0; i < k; i++) w[i * n + c] = wt[c * k + i];
        float[] s = Int8Quantizer.scales(w, n, true);
        for (int row = 0; row < rows; row++) {
            float sx = activationStep(x, row * k, k);
            for (int c = 0; c < n; c++) {
                double bound = 0;
                for (int i = 0; i < k; i++) bound += Math.abs(x[row * k + i]) * s[c] / 2 + Math.abs(w[i * n + c]) * sx / 2 + sx * s[c] / 4;
                assertThat((double) Math.abs(yq[row * n + c] - yf[row * n + c])).isLessThanOrEqualTo(bound * 1.01 + 1e-5);
            }
        }
    }

    /** Conv 3x3 with padding and bias: DynamicQuantizeLinear + ConvInteger + per-channel rescale, within the same kind of bound. */
    @Test
    void quantizedConvIsWithinTheBoundOfItsScalesAndSmallConvsStayFloatUnderTheMeasuredPolicy(@TempDir Path dir)
            throws Exception {
        int c = 4, m = 6, h = 5;
        Random r = new Random(7);
        float[] w = gaussian(r, m * c * 9, 0.3);
        float[] b = gaussian(r, m, 0.5);
        float[] x = gaussian(r, c * h * h, 1.0);
        Path src = dir.resolve("float");
        writeModel(src, graph("conv", List.of(NodeProto.newBuilder().setOpType("Conv").setName("conv").addInput("x").addInput("w")
                .addInput("b").addOutput("y").addAttribute(AttributeProto.newBuilder().setName("pads")
                        .setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(1L, 1L, 1L, 1L))).build())),
                List.of(floats("w", w, true, m, c, 3, 3), floats("b", b, false, m)));

        Int8Quantizer.Report kept = Int8Quantizer.quantizeFile(src.resolve("model.onnx"), dir.resolve("measured"),
                Int8Quantizer.Policy.MEASURED);
        assertThat(kept.convs()).isZero();
        assertThat(kept.keptFloat()).isEqualTo(1);
        assertThat(opTypes(dir.resolve("measured/model.onnx"))).containsExactly("Conv");

        Int8Quantizer.quantizeFile(src.resolve("model.onnx"), dir.resolve("int8"), Int8Quantizer.Policy.ALL);
        assertThat(opTypes(dir.resolve("int8/model.onnx"))).contains("DynamicQuantizeLinear", "ConvInteger");
        float[] yf = runImage(src.resolve("model.onnx"), x, c, h);
        float[] yq = runImage(dir.resolve("int8/model.onnx"), x, c, h);
        float[] s = Int8Quantizer.scales(w, m, false);
        float sx = activationStep(x, 0, x.length);
        for (int o = 0; o < m; o++) {
            for (int py = 0; py < h; py++) {
                for (int px = 0; px < h; px++) {
                    double bound = 0;
                    for (int ci = 0; ci < c; ci++) {
                        for (int ky = 0; ky < 3; ky++) {
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = py + ky - 1, ix = px + kx - 1;
                                if (iy < 0 || ix < 0 || iy >= h || ix >= h) continue;
                                float xv = x[(ci * h + iy) * h + ix];
                                float wv = w[((o * c + ci) * 3 + ky) * 3 + kx];
                                bound += Math.abs(xv) * s[o] / 2 + Math.abs(wv) * sx / 2 + sx * s[o] / 4;
                            }
                        }
                    }
                    int at = (o * h + py) * h + px;
                    assertThat((double) Math.abs(yq[at] - yf[at])).as("y[%d,%d,%d]", o, py, px).isLessThanOrEqualTo(bound * 1.01 + 1e-5);
                }
            }
        }
        assertThat(yq).isNotEqualTo(yf);
    }

    @Test
    void badValuesAndFp16AreRefusedWithTheAcceptedValues() {
        assertThat(Quantization.parse("INT8")).isEqualTo(Quantization.INT8);
        assertThat(Quantization.parse("none")).isEqualTo(Quantization.NONE);
        assertThat(Quantization.parse("int8-unet")).isEqualTo(Quantization.INT8_UNET);
        assertThat(Quantization.INT8_UNET.label()).isEqualTo("int8-unet");
        assertThat(Quantization.INT8_UNET.unet()).isTrue();
        assertThat(Quantization.INT8_UNET.taesd()).isFalse();
        assertThat(Quantization.INT8.taesd()).isTrue();
        assertThatThrownBy(() -> Quantization.parse("int4")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("none, int8 or int8-unet").hasMessageContaining("int4");
        assertThatThrownBy(() -> new DiffusersConverter.Options(true, List.of(), Quantization.INT8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--fp16");
    }

    /** Step of ORT's dynamic uint8 quantization of these values: range widened to include 0, over 255. */
    private static float activationStep(float[] x, int from, int count) {
        float lo = 0, hi = 0;
        for (int i = from; i < from + count; i++) {
            lo = Math.min(lo, x[i]);
            hi = Math.max(hi, x[i]);
        }
        return (hi - lo) / 255f;
    }

    static float[] gaussian(Random r, int n, double sd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * sd);
        return v;
    }

    record Weight(String name, float[] values, boolean external, long[] dims) {}

    static Weight floats(String name, float[] values, boolean external, long... dims) {
        return new Weight(name, values, external, dims);
    }

    static GraphProto.Builder graph(String name, List<NodeProto> nodes) {
        return GraphProto.newBuilder().setName(name).addAllNode(nodes).addInput(value("x")).addOutput(value("y"));
    }

    /** The graph with its weights, some in {@code model.onnx_data} (as converted models store them), some inline. */
    static void writeModel(Path dir, GraphProto.Builder g, List<Weight> weights) throws Exception {
        Files.createDirectories(dir);
        ByteBuffer data = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Weight w : weights) {
            ByteBuffer b = ByteBuffer.allocate(w.values().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : w.values()) b.putFloat(v);
            TensorProto.Builder t = TensorProto.newBuilder().setName(w.name()).setDataType(TensorProto.DataType.FLOAT_VALUE);
            for (long d : w.dims()) t.addDims(d);
            if (w.external()) {
                t.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("model.onnx_data"))
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(String.valueOf(data.position())))
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(String.valueOf(b.capacity())));
                data.put(b.array());
            } else {
                t.setRawData(ByteString.copyFrom(b.array()));
            }
            g.addInitializer(t);
        }
        if (data.position() > 0) Files.write(dir.resolve("model.onnx_data"), java.util.Arrays.copyOf(data.array(), data.position()));
        ModelProto model = ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
        Files.write(dir.resolve("model.onnx"), model.toByteArray());
    }

    static ValueInfoProto value(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))).build();
    }

    static List<String> opTypes(Path model) throws Exception {
        List<String> ops = new ArrayList<>();
        for (NodeProto n : ModelProto.parseFrom(Files.readAllBytes(model)).getGraph().getNodeList()) ops.add(n.getOpType());
        return ops;
    }

    static List<String> optimizedOpTypes(Path model, Path optimized) throws Exception {
        return optimizedOpTypes(model, optimized, "x");
    }

    /** The op types of the graph ONNX Runtime runs (after its fusions), saved to {@code optimized}. */
    static List<String> optimizedOpTypes(Path model, Path optimized, String input) throws Exception {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setOptimizedModelFilePath(optimized.toString());
            try (OrtSession s = ENV.createSession(model.toString(), o)) {
                assertThat(s.getInputNames()).contains(input);
            }
        }
        return opTypes(optimized);
    }

    private static float[] run(Path model, float[] x, int rows, int k) throws OrtException {
        return runShaped(model, x, new long[] {1, rows, k});
    }

    private static float[] run2d(Path model, float[] x, int rows, int k) throws OrtException {
        return runShaped(model, x, new long[] {rows, k});
    }

    private static float[] runImage(Path model, float[] x, int c, int h) throws OrtException {
        return runShaped(model, x, new long[] {1, c, h, h});
    }

    static float[] runShaped(Path model, float[] x, long[] shape) throws OrtException {
        return runShaped(model, x, shape, "x");
    }

    /** The first output of {@code model} fed {@code x} of {@code shape} as its input {@code input}. */
    static float[] runShaped(Path model, float[] x, long[] shape, String input) throws OrtException {
        try (OrtSession s = ENV.createSession(model.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), shape);
             OrtSession.Result r = s.run(Map.of(input, in))) {
            FloatBuffer out = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] y = new float[out.remaining()];
            out.get(y);
            return y;
        }
    }
}
