package io.streamdiffusion4j.convert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.OperatorSetIdProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The per-op-type timings behind {@link Int8Quantizer.Policy#MEASURED}: chains of MatMul or Conv
 * layers at the UNet's sizes, float32 against the int8 rewrite, each session's optimised graph
 * saved so the op types ONNX Runtime actually runs are printed. Not a test (speed is not asserted
 * anywhere); run after {@code ./build -- -q test-compile}:
 * {@code java -cp "target/test-classes:target/classes:target/lib/*" io.streamdiffusion4j.convert.Int8OpTimings matmul|small|conv|conv512|static}
 */
public final class Int8OpTimings {
    static TensorProto floats(String name, Random r, long... dims) {
        long n = 1; for (long d : dims) n *= d;
        ByteBuffer b = ByteBuffer.allocate((int) n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) b.putFloat((float) (r.nextGaussian() * 0.05));
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(1).setRawData(com.google.protobuf.ByteString.copyFrom(b.array()));
        for (long d : dims) t.addDims(d);
        return t.build();
    }
    static ValueInfoProto vi(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(1))).build();
    }
    // chain of 'depth' layers so per-call overhead is amortised
    static ModelProto matmul(int k, int depth) {
        Random r = new Random(1);
        GraphProto.Builder g = GraphProto.newBuilder().setName("g").addInput(vi("x0"));
        for (int i = 0; i < depth; i++) {
            g.addInitializer(floats("w" + i, r, k, k));
            g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mm" + i).addInput("x" + i).addInput("w" + i).addOutput("x" + (i + 1)));
        }
        g.addOutput(vi("x" + depth));
        return ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
    }
    static ModelProto conv(int c, int kernel, int depth) {
        Random r = new Random(1);
        GraphProto.Builder g = GraphProto.newBuilder().setName("g").addInput(vi("x0"));
        for (int i = 0; i < depth; i++) {
            g.addInitializer(floats("w" + i, r, c, c, kernel, kernel));
            g.addInitializer(floats("b" + i, r, c));
            g.addNode(NodeProto.newBuilder().setOpType("Conv").setName("conv" + i).addInput("x" + i).addInput("w" + i).addInput("b" + i).addOutput("x" + (i + 1))
                .addAttribute(AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of((long)kernel/2,(long)kernel/2,(long)kernel/2,(long)kernel/2))));
        }
        g.addOutput(vi("x" + depth));
        return ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
    }
    static double time(OrtEnvironment env, Path model, long[] shape, Path optimized, int reps) throws Exception {
        try (var o = new OrtSession.SessionOptions()) {
        o.setIntraOpNumThreads(2);
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.setOptimizedModelFilePath(optimized.toString());
        long n = 1; for (long d : shape) n *= d;
        float[] x = new float[(int) n];
        Random r = new Random(2); for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        try (var s = env.createSession(model.toString(), o);
             var t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape)) {
            for (int i = 0; i < 3; i++) s.run(Map.of("x0", t)).close();
            long best = Long.MAX_VALUE;
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                s.run(Map.of("x0", t)).close();
                best = Math.min(best, System.nanoTime() - t0);
            }
            return best / 1e6;
        }
        }
    }
    static String ops(Path optimized) throws Exception {
        var m = ModelProto.parseFrom(Files.readAllBytes(optimized));
        Map<String, Integer> c = new TreeMap<>();
        for (var n : m.getGraph().getNodeList()) c.merge((n.getDomain().isEmpty() ? "" : n.getDomain() + ".") + n.getOpType(), 1, Integer::sum);
        return c.toString();
    }
    static void compare(OrtEnvironment env, String label, ModelProto m, long[] shape, int reps) throws Exception {
        Path dir = Files.createTempDirectory("int8-timings");
        Path f = dir.resolve("float.onnx");
        Files.write(f, m.toByteArray());
        Path q = dir.resolve("q");
        Int8Quantizer.quantizeFile(f, q, Int8Quantizer.Policy.ALL);
        // alternate arms, best-of per arm
        double bf = Double.MAX_VALUE, bq = Double.MAX_VALUE;
        for (int round = 0; round < 3; round++) {
            bf = Math.min(bf, time(env, f, shape, dir.resolve("f.opt.onnx"), reps));
            bq = Math.min(bq, time(env, q.resolve("model.onnx"), shape, dir.resolve("q.opt.onnx"), reps));
        }
        System.out.printf("%-34s float %8.3f ms  int8 %8.3f ms  ratio(float/int8) %.2f  int8 ops %s%n", label, bf, bq, bf / bq, ops(dir.resolve("q.opt.onnx")));
    }
    /**
     * {@link #conv} with a Relu after every layer (TAESD's pattern; the static rewrite folds them),
     * ending in a ReduceMean: the static rewrite keeps a model's results float, so without a node
     * after it the last layer would stay float and dilute the comparison.
     */
    static ModelProto convRelu(int c, int kernel, int depth) {
        ModelProto m = conv(c, kernel, depth);
        GraphProto.Builder g = m.getGraph().toBuilder().clearNode().clearOutput();
        for (NodeProto n : m.getGraph().getNodeList()) {
            String out = n.getOutput(0);
            g.addNode(n.toBuilder().setOutput(0, out + "_conv"));
            g.addNode(NodeProto.newBuilder().setOpType("Relu").setName(n.getName() + "_relu").addInput(out + "_conv").addOutput(out));
        }
        g.addNode(NodeProto.newBuilder().setOpType("ReduceMean").setName("mean").addInput("x" + depth).addOutput("mean"));
        g.addOutput(vi("mean"));
        return m.toBuilder().setGraph(g).build();
    }

    static void compareStatic(OrtEnvironment env, String label, ModelProto m, long[] shape, int reps) throws Exception {
        Path dir = Files.createTempDirectory("int8-timings");
        Path f = dir.resolve("float.onnx");
        Files.write(f, m.toByteArray());
        StaticInt8Quantizer.Plan plan = StaticInt8Quantizer.plan(m);
        long n = 1;
        for (long d : shape) n *= d;
        Random r = new Random(3);
        List<float[]> inputs = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) {
            float[] x = new float[(int) n];
            for (int j = 0; j < n; j++) x[j] = (float) r.nextGaussian();
            inputs.add(x);
        }
        var ranges = io.streamdiffusion4j.onnx.ActivationRanges.measure(f, plan.tensors(), inputs, shape).ranges();
        Path q = dir.resolve("q");
        Int8Quantizer.quantizeFile(f, q, new Int8Quantizer.Policy(Int8Quantizer.Policy.NEVER, Int8Quantizer.Policy.NEVER),
                new Int8Quantizer.StaticConvs(plan, ranges));
        double bf = Double.MAX_VALUE, bq = Double.MAX_VALUE;
        for (int round = 0; round < 3; round++) {
            bf = Math.min(bf, time(env, f, shape, dir.resolve("f.opt.onnx"), reps));
            bq = Math.min(bq, time(env, q.resolve("model.onnx"), shape, dir.resolve("q.opt.onnx"), reps));
        }
        System.out.printf("%-34s float %8.3f ms  static int8 %8.3f ms  ratio(float/int8) %.2f  int8 ops %s%n", label, bf, bq, bf / bq,
                ops(dir.resolve("q.opt.onnx")));
    }

    public static void main(String[] a) throws Exception {
        var env = OrtEnvironment.getEnvironment();
        String which = a.length > 0 ? a[0] : "matmul";
        int depth = 4;
        if (which.equals("matmul")) {
            for (int[] c : new int[][] {{64, 16*16*2}, {320, 32*32}, {640, 16*16}, {1280, 8*8}, {320, 64*64}, {1280, 2}, {320, 77}}) {
                compare(env, "MatMul K=N=" + c[0] + " rows=" + c[1], matmul(c[0], depth), new long[] {1, c[1], c[0]}, 10);
            }
        }
        if (which.equals("conv512")) {
            for (int[] c : new int[][] {{320, 3, 64}, {640, 3, 32}, {1280, 3, 16}, {320, 3, 32}}) {
                compare(env, "Conv C=" + c[0] + " k=" + c[1] + " " + c[2] + "x" + c[2], conv(c[0], c[1], 2), new long[] {1, c[0], c[2], c[2]}, 3);
            }
        }
        if (which.equals("small")) {
            for (int[] c : new int[][] {{32, 512}, {64, 512}, {128, 512}, {32, 2048}, {64, 2048}, {256, 128}}) {
                compare(env, "MatMul K=N=" + c[0] + " rows=" + c[1], matmul(c[0], 8), new long[] {1, c[1], c[0]}, 20);
            }
        }
        if (which.equals("static")) {
            // convolution + Relu chains through the static rewrite (calibrated on random inputs), as TAESD and the UNet get it
            for (int[] c : new int[][] {{64, 3, 256}, {64, 3, 128}, {64, 3, 64}, {320, 3, 32}, {640, 3, 16}, {1280, 3, 8}, {320, 1, 32}}) {
                compareStatic(env, "Conv+Relu C=" + c[0] + " k=" + c[1] + " " + c[2] + "x" + c[2], convRelu(c[0], c[1], depth),
                        new long[] {1, c[0], c[2], c[2]}, c[2] >= 128 ? 5 : 10);
            }
        }
        if (which.equals("conv")) {
            for (int[] c : new int[][] {{32, 3, 16}, {64, 3, 8}, {320, 3, 32}, {640, 3, 16}, {1280, 3, 8}, {320, 1, 32}, {64, 3, 64}, {64, 3, 128}}) {
                compare(env, "Conv C=" + c[0] + " k=" + c[1] + " " + c[2] + "x" + c[2], conv(c[0], c[1], depth), new long[] {1, c[0], c[2], c[2]}, 5);
            }
        }
    }
}
