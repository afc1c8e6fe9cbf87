package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.streamdiffusion4j.files.FolderManifest;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.OperatorSetIdProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.weights.OnnxInitializers;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites an ONNX graph so that its linear layers run in int8 on ONNX Runtime's CPU provider:
 * weights are quantized once, symmetrically per output channel (scale = max|w| / 127, zero
 * point 0), and activations are quantized dynamically at each call.
 * <ul>
 *   <li>{@code MatMul(x, W)} with a constant 2-D {@code W [K, N]} becomes
 *       {@code com.microsoft.DynamicQuantizeMatMul(x, Wq int8, scale [N], zero [N])}: one kernel
 *       that quantizes x to uint8 and runs the u8s8 GEMM (VNNI on AVX-512). A linear
 *       {@code Gemm(x, W, b)} (alpha = beta = 1; W transposed first when transB) becomes the same
 *       node with b as its bias.</li>
 *   <li>{@code Conv(x, W, b)} with a constant {@code W [M, C/g, kh, kw]} becomes
 *       {@code DynamicQuantizeLinear(x) -> ConvInteger(xq, Wq uint8 (q + 128), x_zero, 128) ->
 *       Cast -> Mul(x_scale * scale [1, M, 1, 1]) -> Add(b)}. ORT's CPU ConvInteger kernel is
 *       registered for uint8 weights and one weight zero point, so the weights are shifted by 128
 *       and the per-channel scales applied after it. ORT fuses none of these four nodes.</li>
 * </ul>
 * Which of the two applies, and from what weight size, is a {@link Policy}: the CPU is faster in
 * int8 only for some op types and sizes, and {@link Policy#MEASURED} holds what was measured
 * (docs/PERFORMANCE.md). Everything else is copied unchanged; weights in external data are
 * written to the new model's own {@code model.onnx_data}.
 */
public final class Int8Quantizer {
    /** Largest magnitude of a symmetric int8 weight (−128 is left out so the range is symmetric). */
    static final int QMAX = 127;
    /** Bump when the rewrite's output changes (op forms, policy), so cached int8 copies are made again. */
    static final String FORMAT = "int8-v1";
    private static final int ALIGN = 64;
    private static final String MS_DOMAIN = "com.microsoft";

    /**
     * What to quantize: a MatMul or Conv whose constant weight has at least this many values
     * ({@link #NEVER}: none of that kind).
     */
    public record Policy(long matMulMinWeights, long convMinWeights) {
        public static final long NEVER = Long.MAX_VALUE;
        /**
         * What measurements on ORT 1.29's CPU provider chose (docs/PERFORMANCE.md, "int8"): MatMuls
         * from 128 x 128 weights up (DynamicQuantizeMatMul was 1.1-1.3x faster at 128, 1.5-4x at
         * 320-1280; at 32 and 64 it was 0.7-1.0x, the activation quantization costing more than the
         * GEMM saves), and only the large convolutions (ConvInteger is not fused: quantize +
         * integer conv + cast + rescale was 0.45-0.7x the float Conv up to 320 channels, 1.4-1.9x at
         * 640 and 1280 channels with 3x3 kernels).
         */
        public static final Policy MEASURED = new Policy(128 * 128, 2_000_000);
        public static final Policy ALL = new Policy(0, 0);
    }

    /** How many layers of each kind were rewritten, and how many stayed float. */
    public record Report(int matMuls, int convs, int keptFloat, String staticConvs) {
        public String describe() {
            return "int8: " + matMuls + " MatMul and " + convs + " Conv layers quantized, " + keptFloat
                    + " kept in float32 (where int8 is not faster on the CPU)"
                    + (staticConvs != null ? "; convolutions: " + staticConvs : "");
        }
    }

    private Int8Quantizer() {}

    /**
     * Reads {@code source} (a model.onnx, with external data beside it if it has any) and writes the
     * quantized model to {@code targetDir/model.onnx} (+ {@code model.onnx_data}).
     */
    public static Report quantizeFile(Path source, Path targetDir, Policy policy) throws IOException {
        return quantizeFile(source, targetDir, policy, null);
    }

    /**
     * {@link #quantizeFile(Path, Path, Policy)} with the convolutions of a static plan in int8 as
     * well ({@link StaticInt8Quantizer}); the policy's dynamic convolutions then do not apply.
     *
     * @param convs the plan made of this very file and the ranges it needs, or null for none
     */
    public static Report quantizeFile(Path source, Path targetDir, Policy policy, StaticConvs convs) throws IOException {
        ModelProto model = read(source);
        try (OnnxInitializers weights = OnnxInitializers.read(source, null)) {
            Files.createDirectories(targetDir);
            return new Rewrite(model, weights, convs != null ? new Policy(policy.matMulMinWeights(), Policy.NEVER) : policy,
                    convs, targetDir).run();
        }
    }

    /** A static int8 plan of a model's convolutions and the measured ranges of its tensors. */
    public record StaticConvs(StaticInt8Quantizer.Plan plan, Map<String, StaticInt8Quantizer.Range> ranges) {}

    /** An ONNX model file's graph (weights in external data stay there). */
    public static ModelProto read(Path source) throws IOException {
        if (!Files.isRegularFile(source)) throw new InputFileException("ONNX model not found: " + source);
        try (InputStream in = Files.newInputStream(source)) {
            return ModelProto.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw new InputFileException(source + ": not a valid ONNX model: " + e.getMessage(), e);
        }
    }

    /** The component of a Stable Diffusion ONNX folder that is quantized: the rest stays float (measured, see {@link Policy}). */
    public static final String UNET = "unet";

    /**
     * Quantizes {@code modelDir/unet/model.onnx} in place (a folder being built, not yet sealed):
     * the new model is written beside it, then replaces it.
     */
    public static Report quantizeUnetInPlace(Path modelDir, Policy policy) throws IOException {
        Path unet = modelDir.resolve(UNET);
        Path staged = Files.createTempDirectory(modelDir, ".unet-int8-");
        try {
            Report r = quantizeFile(unet.resolve("model.onnx"), staged, policy, calibratedConvs(modelDir));
            Files.deleteIfExists(unet.resolve("model.onnx_data"));
            try (var files = Files.list(staged)) {
                for (Path f : files.toList()) {
                    Files.move(f, unet.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return r;
        } finally {
            DiffusersConverter.deleteTree(staged);
        }
    }

    /**
     * Writes a quantized copy of the ONNX model folder {@code from} into {@code to} (a new, empty
     * folder): the UNet quantized, every other file linked where the file system allows, else copied.
     */
    public static Report quantizedCopy(Path from, Path to, Policy policy) throws IOException {
        Path unet = from.resolve(UNET);
        linkCopy(from, to, p -> p.getParent().equals(unet) && p.getFileName().toString().startsWith("model.onnx"));
        Report r = quantizeFile(unet.resolve("model.onnx"), to.resolve(UNET), policy, calibratedConvs(from));
        // what this copy is, beside the source's own provenance (linked unchanged)
        var about = new ObjectMapper().createObjectNode()
                .put("quantize", "int8").put("format", FORMAT).put("policy", policy.toString())
                .put("source", from.toAbsolutePath().toString()).put("int8_matmuls", r.matMuls())
                .put("int8_convs", r.convs()).put("float_layers", r.keptFloat())
                .put("static_convs", r.staticConvs()).put("calibration", UnetCalibration.describe());
        Files.writeString(to.resolve(UNET).resolve("quantization.json"), about.toPrettyString());
        return r;
    }

    /**
     * The static int8 plan of the UNet of the ONNX model folder {@code modelDir} with its
     * calibrated ranges ({@link UnetCalibration}), or null when it has no convolution to quantize.
     */
    static StaticConvs calibratedConvs(Path modelDir) throws IOException {
        StaticInt8Quantizer.Plan plan = StaticInt8Quantizer.plan(read(modelDir.resolve(UNET).resolve("model.onnx")));
        if (plan.isEmpty()) return null;
        return new StaticConvs(plan, UnetCalibration.ranges(modelDir, plan.tensors()));
    }

    /**
     * Copies the folder {@code from} into {@code to} by hard links to the real files where the
     * file system allows (else by copying), leaving out the files {@code replaced} accepts (the
     * caller writes their quantized versions) and the source's manifest (the copy gets its own
     * when sealed).
     */
    static void linkCopy(Path from, Path to, java.util.function.Predicate<Path> replaced) throws IOException {
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path rel = from.relativize(p);
                Path dest = to.resolve(rel.toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else if (Files.isRegularFile(p) && !replaced.test(p)) {
                    if (rel.getNameCount() == 1 && p.getFileName().toString().equals(FolderManifest.FILE_NAME)) continue;
                    try {
                        // the real file: a Hub snapshot's entries are relative links, which a hard
                        // link would copy as links that point nowhere from the cache
                        Files.createLink(dest, p.toRealPath());
                    } catch (IOException | UnsupportedOperationException e) {
                        Files.copy(p, dest);
                    }
                }
            }
        }
    }

    /** The {@link #int8Nodes} key of convolutions in static int8 ({@link StaticInt8Quantizer}). */
    public static final String STATIC_CONV = "static int8 Conv";

    /** How many int8 nodes of each kind {@code model} has (for reports: what a copy actually runs in int8). */
    public static Map<String, Integer> int8Nodes(Path model) throws IOException {
        ModelProto m;
        try (InputStream in = Files.newInputStream(model)) {
            m = ModelProto.parseFrom(in);
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put("DynamicQuantizeMatMul", 0);
        counts.put("ConvInteger", 0);
        counts.put(STATIC_CONV, 0);
        Set<String> dequantized = new HashSet<>();
        for (NodeProto n : m.getGraph().getNodeList()) {
            if (n.getOpType().equals("DequantizeLinear")) dequantized.addAll(n.getOutputList());
            // a static int8 convolution: its weight comes out of a DequantizeLinear (ONNX Runtime fuses it into QLinearConv)
            if (n.getOpType().equals("Conv") && n.getInputCount() > 1 && dequantized.contains(n.getInput(1))) {
                counts.merge(STATIC_CONV, 1, Integer::sum);
            }
            counts.computeIfPresent(n.getOpType(), (k, v) -> v + 1);
        }
        return counts;
    }

    /** Symmetric per-channel scales of {@code w}, laid out as {@code channels} groups (see {@link #channelOf}). */
    static float[] scales(float[] w, int channels, boolean channelIsLastAxis) {
        float[] max = new float[channels];
        for (int i = 0; i < w.length; i++) {
            int c = channelOf(i, w.length, channels, channelIsLastAxis);
            float a = Math.abs(w[i]);
            if (a > max[c]) max[c] = a;
        }
        float[] s = new float[channels];
        // an all-zero channel quantizes to zeros with any scale; 1 keeps the division defined
        for (int c = 0; c < channels; c++) s[c] = max[c] > 0 ? max[c] / QMAX : 1f;
        return s;
    }

    /** {@code round(w / scale)} clamped to ±127, per channel. */
    static byte[] quantize(float[] w, float[] scales, boolean channelIsLastAxis) {
        byte[] q = new byte[w.length];
        int channels = scales.length;
        for (int i = 0; i < w.length; i++) {
            int c = channelOf(i, w.length, channels, channelIsLastAxis);
            int v = Math.round(w[i] / scales[c]);
            q[i] = (byte) Math.max(-QMAX, Math.min(QMAX, v));
        }
        return q;
    }

    /** The channel of flat index i: the last axis (MatMul's [K, N]) or the first (Conv's [M, ...]). */
    static int channelOf(int i, int length, int channels, boolean channelIsLastAxis) {
        return channelIsLastAxis ? i % channels : i / (length / channels);
    }

    /** One pass over a graph: decides, writes the data file, builds the new graph. */
    private static final class Rewrite {
        private final ModelProto model;
        private final OnnxInitializers weights;
        private final Policy policy;
        private final Path dir;
        private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
        private final Map<String, Integer> uses = new HashMap<>();
        private final Set<String> names = new HashSet<>();
        private final List<TensorProto> newInitializers = new ArrayList<>();
        private final List<NodeProto> nodes = new ArrayList<>();
        private OutputStream data;
        private long offset;
        private int matMuls;
        private int convs;
        private int keptFloat;
        private int fresh;

        private final StaticConvs staticConvs;
        private StaticInt8Quantizer.Emitter emitter;

        Rewrite(ModelProto model, OnnxInitializers weights, Policy policy, StaticConvs staticConvs, Path dir) {
            this.model = model;
            this.weights = weights;
            this.policy = policy;
            this.staticConvs = staticConvs;
            this.dir = dir;
        }

        Report run() throws IOException {
            GraphProto g = model.getGraph();
            for (TensorProto t : g.getInitializerList()) initializers.put(t.getName(), t);
            for (NodeProto n : g.getNodeList()) {
                for (String in : n.getInputList()) uses.merge(in, 1, Integer::sum);
                names.addAll(n.getOutputList());
            }
            for (String o : g.getOutputList().stream().map(v -> v.getName()).toList()) uses.merge(o, 1, Integer::sum);
            names.addAll(initializers.keySet());

            Path dataFile = dir.resolve("model.onnx_data");
            Set<String> replaced = new HashSet<>();
            boolean microsoft = false;
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dataFile), 1 << 20)) {
                data = out;
                if (staticConvs != null) {
                    emitter = new StaticInt8Quantizer.Emitter(staticConvs.plan(), g, staticConvs.ranges(), sink());
                    emitter.start(g, nodes);
                }
                for (int index = 0; index < g.getNodeCount(); index++) {
                    NodeProto n = g.getNode(index);
                    if (emitter != null) {
                        if (emitter.skips(index)) continue;
                        n = emitter.prepare(index, n, nodes);
                    }
                    String w = n.getInputCount() >= 2 ? n.getInput(1) : null;
                    if (n.getOpType().equals("MatMul") && n.getDomain().isEmpty() && quantizable(w, 2, policy.matMulMinWeights())) {
                        rewriteMatMul(n, w);
                        microsoft = true;
                        matMuls++;
                        replaced.add(w);
                    } else if (n.getOpType().equals("Gemm") && n.getDomain().isEmpty() && plainGemm(n)
                            && quantizable(w, 2, policy.matMulMinWeights())) {
                        rewriteGemm(n, w);
                        microsoft = true;
                        matMuls++;
                        replaced.add(w);
                    } else if (n.getOpType().equals("Conv") && n.getDomain().isEmpty() && quantizable(w, 4, policy.convMinWeights())) {
                        rewriteConv(n, w);
                        convs++;
                        replaced.add(w);
                    } else {
                        if (Set.of("MatMul", "Gemm", "Conv").contains(n.getOpType()) && initializers.containsKey(w)) {
                            keptFloat++;
                        }
                        nodes.add(n);
                    }
                    if (emitter != null) emitter.finish(n, nodes);
                }
                if (emitter != null) replaced.addAll(emitter.replacedWeights());
                List<TensorProto> kept = new ArrayList<>();
                for (TensorProto t : initializers.values()) {
                    // a weight also read by a node left as it was stays too
                    if (replaced.contains(t.getName()) && stillUsed(t.getName())) replaced.remove(t.getName());
                    if (!replaced.contains(t.getName())) kept.add(copy(t));
                }
                kept.addAll(newInitializers);
                newInitializers.clear();
                newInitializers.addAll(kept);
            }
            if (offset == 0) Files.deleteIfExists(dataFile);

            GraphProto.Builder graph = g.toBuilder().clearNode().addAllNode(nodes).clearInitializer()
                    .addAllInitializer(newInitializers);
            ModelProto.Builder m = model.toBuilder().setGraph(graph);
            if (microsoft && m.getOpsetImportList().stream().noneMatch(o -> o.getDomain().equals(MS_DOMAIN))) {
                m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
            }
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(dir.resolve("model.onnx")))) {
                m.build().writeTo(os);
            }
            return new Report(matMuls, convs, keptFloat, staticConvs != null ? staticConvs.plan().describe() : null);
        }

        private StaticInt8Quantizer.Sink sink() {
            return new StaticInt8Quantizer.Sink() {
                public float[] floats(String initializer) throws IOException {
                    return weights.floats(initializer);
                }

                public String large(String name, int dataType, byte[] bytes, List<Long> dims) throws IOException {
                    return external(name, dataType, bytes, dims);
                }

                public void small(TensorProto t) {
                    newInitializers.add(t);
                }

                public String fresh(String want) {
                    return unique(want);
                }
            };
        }

        private boolean stillUsed(String name) {
            for (NodeProto n : nodes) if (n.getInputList().contains(name)) return true;
            return model.getGraph().getOutputList().stream().anyMatch(v -> v.getName().equals(name));
        }

        private boolean quantizable(String w, int rank, long minWeights) {
            if (minWeights == Policy.NEVER || w == null) return false;
            TensorProto t = initializers.get(w);
            if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE || t.getDimsCount() != rank) return false;
            long n = 1;
            for (long d : t.getDimsList()) n *= d;
            return n > 0 && n >= minWeights;
        }

        /** Gemm(A, B, C) that is a plain linear layer: alpha = beta = 1, A not transposed. */
        private static boolean plainGemm(NodeProto n) {
            for (AttributeProto a : n.getAttributeList()) {
                switch (a.getName()) {
                    case "alpha", "beta" -> { if (a.getF() != 1f) return false; }
                    case "transA" -> { if (a.getI() != 0) return false; }
                    default -> { }
                }
            }
            return true;
        }

        private static boolean transB(NodeProto n) {
            for (AttributeProto a : n.getAttributeList()) if (a.getName().equals("transB")) return a.getI() != 0;
            return false;
        }

        /** A linear layer as Gemm (Optimum's exports use it for the time embedding): the same kernel as MatMul, with the bias. */
        private void rewriteGemm(NodeProto n, String w) throws IOException {
            TensorProto t = initializers.get(w);
            float[] values = weights.floats(w);
            List<Long> dims = t.getDimsList();
            if (transB(n)) {
                int rows = (int) t.getDims(0), cols = (int) t.getDims(1);
                float[] kn = new float[values.length];
                for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) kn[c * rows + r] = values[r * cols + c];
                values = kn;
                dims = List.of(t.getDims(1), t.getDims(0));
            }
            String bias = n.getInputCount() >= 3 ? n.getInput(2) : "";
            TensorProto bt = initializers.get(bias);
            boolean fuseBias = bt != null && bt.getDimsCount() == 1 && bt.getDims(0) == dims.get(1);
            String out = fuseBias || bias.isEmpty() ? n.getOutput(0) : unique(n.getOutput(0) + "_nobias");
            dynamicQuantizeMatMul(n, w, values, dims, fuseBias ? bias : null, out);
            if (!fuseBias && !bias.isEmpty()) {
                nodes.add(NodeProto.newBuilder().setOpType("Add").setName(unique(n.getName() + "_bias")).addInput(out)
                        .addInput(bias).addOutput(n.getOutput(0)).build());
            }
        }

        private void rewriteMatMul(NodeProto n, String w) throws IOException {
            dynamicQuantizeMatMul(n, w, weights.floats(w), initializers.get(w).getDimsList(), null, n.getOutput(0));
        }

        private void dynamicQuantizeMatMul(NodeProto n, String w, float[] values, List<Long> dims, String bias, String output)
                throws IOException {
            int cols = (int) (long) dims.get(1);
            float[] s = scales(values, cols, true);
            byte[] q = quantize(values, s, true);
            String base = unique(w + "_int8");
            String qName = external(base, TensorProto.DataType.INT8_VALUE, q, dims);
            String sName = inline(unique(base + "_scale"), s, List.of((long) cols));
            String zName = unique(base + "_zero");
            newInitializers.add(TensorProto.newBuilder().setName(zName).setDataType(TensorProto.DataType.INT8_VALUE)
                    .addDims(cols).setRawData(ByteString.copyFrom(new byte[cols])).build());
            nodes.add(NodeProto.newBuilder().setOpType("DynamicQuantizeMatMul").setDomain(MS_DOMAIN)
                    .setName(n.getName().isEmpty() ? unique("DynamicQuantizeMatMul") : n.getName() + "_int8")
                    .addInput(n.getInput(0)).addInput(qName).addInput(sName).addInput(zName)
                    .addAllInput(bias != null ? List.of(bias) : List.of()).addOutput(output).build());
        }

        private void rewriteConv(NodeProto n, String w) throws IOException {
            TensorProto t = initializers.get(w);
            int m = (int) t.getDims(0);
            float[] values = weights.floats(w);
            float[] s = scales(values, m, false);
            byte[] q = quantize(values, s, false);
            byte[] u = new byte[q.length];
            for (int i = 0; i < q.length; i++) u[i] = (byte) (q[i] + 128);
            String base = unique(w + "_uint8");
            String qName = external(base, TensorProto.DataType.UINT8_VALUE, u, t.getDimsList());
            String wZero = unique(base + "_zero");
            newInitializers.add(TensorProto.newBuilder().setName(wZero).setDataType(TensorProto.DataType.UINT8_VALUE)
                    .setRawData(ByteString.copyFrom(new byte[] {(byte) 128})).build());
            String sName = inline(unique(base + "_scale"), s, List.of(1L, (long) m, 1L, 1L));
            String prefix = n.getName().isEmpty() ? unique("conv") : n.getName();
            String xq = unique(prefix + "_xq"), xs = unique(prefix + "_xscale"), xz = unique(prefix + "_xzero");
            nodes.add(NodeProto.newBuilder().setOpType("DynamicQuantizeLinear").setName(unique(prefix + "_quantize"))
                    .addInput(n.getInput(0)).addOutput(xq).addOutput(xs).addOutput(xz).build());
            String acc = unique(prefix + "_int32");
            NodeProto.Builder conv = NodeProto.newBuilder().setOpType("ConvInteger").setName(unique(prefix + "_int8"))
                    .addInput(xq).addInput(qName).addInput(xz).addInput(wZero).addOutput(acc);
            for (AttributeProto a : n.getAttributeList()) conv.addAttribute(a);
            nodes.add(conv.build());
            String asFloat = unique(prefix + "_float");
            nodes.add(NodeProto.newBuilder().setOpType("Cast").setName(unique(prefix + "_cast")).addInput(acc).addOutput(asFloat)
                    .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                            .setI(TensorProto.DataType.FLOAT_VALUE)).build());
            String scale = unique(prefix + "_scale");
            nodes.add(NodeProto.newBuilder().setOpType("Mul").setName(unique(prefix + "_scales")).addInput(xs).addInput(sName)
                    .addOutput(scale).build());
            boolean bias = n.getInputCount() >= 3 && !n.getInput(2).isEmpty();
            String scaled = bias ? unique(prefix + "_scaled") : n.getOutput(0);
            nodes.add(NodeProto.newBuilder().setOpType("Mul").setName(unique(prefix + "_dequantize")).addInput(asFloat)
                    .addInput(scale).addOutput(scaled).build());
            if (bias) {
                String b = n.getInput(2);
                TensorProto bt = initializers.get(b);
                String biasName = b;
                if (bt != null && bt.getDimsCount() == 1) {
                    biasName = inline(unique(b + "_nchw"), weights.floats(b), List.of(1L, (long) m, 1L, 1L));
                } else {
                    // a bias computed in the graph: shape it [1, M, 1, 1] there
                    String shape = unique(prefix + "_bias_shape");
                    newInitializers.add(TensorProto.newBuilder().setName(shape).setDataType(TensorProto.DataType.INT64_VALUE)
                            .addDims(4).addInt64Data(1).addInt64Data(m).addInt64Data(1).addInt64Data(1).build());
                    biasName = unique(prefix + "_bias");
                    nodes.add(NodeProto.newBuilder().setOpType("Reshape").setName(unique(prefix + "_bias_reshape"))
                            .addInput(b).addInput(shape).addOutput(biasName).build());
                }
                nodes.add(NodeProto.newBuilder().setOpType("Add").setName(unique(prefix + "_bias_add")).addInput(scaled)
                        .addInput(biasName).addOutput(n.getOutput(0)).build());
            }
        }

        private String unique(String want) {
            String name = want;
            while (names.contains(name)) name = want + "_" + (++fresh);
            names.add(name);
            return name;
        }

        private String inline(String name, float[] values, List<Long> dims) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) b.putFloat(v);
            newInitializers.add(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                    .addAllDims(dims).setRawData(ByteString.copyFrom(b.array())).build());
            return name;
        }

        private String external(String name, int type, byte[] bytes, List<Long> dims) throws IOException {
            newInitializers.add(externalTensor(TensorProto.newBuilder().setName(name).setDataType(type).addAllDims(dims),
                    ByteBuffer.wrap(bytes)));
            return name;
        }

        /** Kept initializers: inline ones as they are, external ones moved into this model's data file. */
        private TensorProto copy(TensorProto t) throws IOException {
            if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) return t;
            long n = 1;
            for (long d : t.getDimsList()) n *= d;
            long bytes = n * elementSize(t);
            return externalTensor(t.toBuilder().clearExternalData().clearDataLocation(), weights.externalBytes(t.getName(), bytes));
        }

        private long elementSize(TensorProto t) throws IOException {
            return switch (t.getDataType()) {
                case TensorProto.DataType.FLOAT_VALUE, TensorProto.DataType.INT32_VALUE,
                     TensorProto.DataType.UINT32_VALUE -> 4;
                case TensorProto.DataType.DOUBLE_VALUE, TensorProto.DataType.INT64_VALUE,
                     TensorProto.DataType.UINT64_VALUE -> 8;
                case TensorProto.DataType.FLOAT16_VALUE, TensorProto.DataType.BFLOAT16_VALUE,
                     TensorProto.DataType.INT16_VALUE, TensorProto.DataType.UINT16_VALUE -> 2;
                case TensorProto.DataType.INT8_VALUE, TensorProto.DataType.UINT8_VALUE,
                     TensorProto.DataType.BOOL_VALUE -> 1;
                default -> throw new InputFileException(weights.origin() + ": initializer '" + t.getName()
                        + "' has element type " + t.getDataType() + " in external data, which the quantizer cannot copy");
            };
        }

        private TensorProto externalTensor(TensorProto.Builder t, ByteBuffer bytes) throws IOException {
            long pad = (ALIGN - offset % ALIGN) % ALIGN;
            for (long i = 0; i < pad; i++) data.write(0);
            offset += pad;
            long length = bytes.remaining();
            WritableByteChannel ch = Channels.newChannel(data);
            while (bytes.hasRemaining()) ch.write(bytes);
            t.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", "model.onnx_data"))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Long.toString(length)));
            offset += length;
            return t.build();
        }

        private static StringStringEntryProto entry(String k, String v) {
            return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
        }
    }
}
