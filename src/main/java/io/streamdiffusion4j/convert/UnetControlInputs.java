package io.streamdiffusion4j.convert;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamdiffusion4j.model.ControlNetNames;
import io.streamdiffusion4j.onnx.InvalidModelException;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Makes the UNet graph with ControlNet inputs from a UNet graph: the same graph plus float32
 * inputs {@code down_block_res_0 .. N-1} and {@code mid_block_res} ({@link ControlNetNames}),
 * added where diffusers' {@code UNet2DConditionModel.forward} adds
 * {@code down_block_additional_residuals} (to each skip connection, as the up blocks read it; the
 * sample going down is not changed) and {@code mid_block_additional_residual} (to the mid block's
 * output, as the first up block reads it).
 *
 * <p>It works on the ONNX graph, not on diffusers weights, so every UNet folder the pipeline loads
 * gets one (the project's conversions, Optimum exports, ONNX Hub repositories) and the plain UNet
 * stays exactly as it is: the variant is a separate, cached file ({@code ModelStore#unetWithControl})
 * whose weights are the plain one's files, hard-linked (copied where links are impossible). The up
 * path reads each skip connection through {@code Concat([x, skip], axis=1)} (torch.cat(dim=1)),
 * the only channel concatenations in a UNet; the first one's {@code x} is the mid block's output.
 * Their count is checked against the UNet's config.json when it has one. With all residuals zero
 * the added nodes compute {@code x + 0 = x}, so the outputs equal the plain graph's bit for bit.
 *
 * <p>The new inputs are per-frame values: the UNet conditioning split
 * ({@code onnx/UnetConditioningSplit}) keeps the nodes that read them in the main graph.
 */
public final class UnetControlInputs {
    /** Part of the cache key of the variants: change it when the graph this makes changes. */
    static final String VERSION = "1";
    private static final String PREFIX = "/controlnet/";

    private UnetControlInputs() {}

    /** The graph with control inputs, and its number of down residuals. */
    public record Variant(byte[] model, int downResiduals) {}

    /**
     * @param expectedSkips the number of skip connections the UNet's config implies, or -1 to accept what the graph has
     * @param origin names the file in errors
     */
    public static Variant add(byte[] modelBytes, int expectedSkips, Path origin) throws InvalidModelException {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(modelBytes);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidModelException(origin + ": not a valid ONNX model: " + e.getMessage(), e);
        }
        GraphProto g = model.getGraph();
        Set<String> inputs = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) inputs.add(v.getName());
        for (String need : List.of(ControlNetNames.SAMPLE, ControlNetNames.TIMESTEP, ControlNetNames.ENCODER_HIDDEN_STATES)) {
            if (!inputs.contains(need)) throw new InvalidModelException(origin + ": not a UNet graph: it has no input '" + need + "'");
        }
        if (inputs.contains(ControlNetNames.downResidual(0)) || inputs.contains(ControlNetNames.MID_RESIDUAL)) {
            throw new InvalidModelException(origin + ": already has ControlNet inputs");
        }
        List<Integer> concats = new ArrayList<>();
        for (int i = 0; i < g.getNodeCount(); i++) if (isChannelConcat(g.getNode(i))) concats.add(i);
        int n = concats.size();
        if (n == 0 || (expectedSkips >= 0 && n != expectedSkips)) {
            throw new InvalidModelException(origin + ": found " + n + " skip-connection concatenations (Concat on axis 1)"
                    + (expectedSkips >= 0 ? ", but its config implies " + expectedSkips : "")
                    + "; cannot add ControlNet inputs to this graph");
        }
        boolean half = isHalf(g);

        GraphProto.Builder b = g.toBuilder().clearNode();
        int k = 0;
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto node = g.getNode(i);
            if (k < n && concats.get(k) == i) {
                NodeProto.Builder concat = node.toBuilder();
                // the up path reads the skips last-in first-out: the first concatenation takes the last residual
                int residual = n - 1 - k;
                concat.setInput(1, added(b, node.getInput(1), ControlNetNames.downResidual(residual), half));
                if (k == 0) concat.setInput(0, added(b, node.getInput(0), ControlNetNames.MID_RESIDUAL, half));
                b.addNode(concat);
                k++;
            } else {
                b.addNode(node);
            }
        }
        for (int r = 0; r < n; r++) {
            b.addInput(OnnxGraph.valueInfo(ControlNetNames.downResidual(r), TensorProto.DataType.FLOAT_VALUE,
                    "batch_size", "res_channels_" + r, "res_height_" + r, "res_width_" + r));
        }
        b.addInput(OnnxGraph.valueInfo(ControlNetNames.MID_RESIDUAL, TensorProto.DataType.FLOAT_VALUE,
                "batch_size", "mid_channels", "mid_height", "mid_width"));
        return new Variant(model.toBuilder().setGraph(b).build().toByteArray(), n);
    }

    /** {@code value + input} (the input cast to float16 first in a half graph), as nodes added to {@code b}. */
    private static String added(GraphProto.Builder b, String value, String input, boolean half) {
        String residual = input;
        if (half) {
            residual = PREFIX + input + "/cast";
            b.addNode(NodeProto.newBuilder().setOpType("Cast").setName(residual).addInput(input).addOutput(residual)
                    .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                            .setI(TensorProto.DataType.FLOAT16_VALUE)));
        }
        String out = PREFIX + input + "/added";
        b.addNode(NodeProto.newBuilder().setOpType("Add").setName(out).addInput(value).addInput(residual).addOutput(out));
        return out;
    }

    private static boolean isChannelConcat(NodeProto n) {
        if (!n.getOpType().equals("Concat") || !n.getDomain().isEmpty() || n.getInputCount() != 2) return false;
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals("axis")) return a.getI() == 1;
        return false;
    }

    /** A float16 graph: its first convolution's weight is float16 (inputs stay float32 and are cast inside). */
    private static boolean isHalf(GraphProto g) {
        for (NodeProto n : g.getNodeList()) {
            if (!n.getOpType().equals("Conv") || n.getInputCount() < 2) continue;
            for (TensorProto t : g.getInitializerList()) {
                if (t.getName().equals(n.getInput(1))) return t.getDataType() == TensorProto.DataType.FLOAT16_VALUE;
            }
            return false;
        }
        return false;
    }

    /**
     * Writes the variant of the UNet folder {@code unetDir} ({@code model.onnx}, config.json,
     * external data) into {@code outDir}: {@code model.onnx} rewritten, every other file of the
     * folder hard-linked (or copied).
     *
     * @return the number of down residual inputs
     */
    public static int writeVariant(Path unetDir, Path outDir) throws IOException {
        Path modelFile = unetDir.resolve("model.onnx");
        if (!Files.isRegularFile(modelFile)) throw new InvalidModelException(modelFile + " not found: not a UNet folder");
        int expected = -1;
        Path config = unetDir.resolve("config.json");
        if (Files.isRegularFile(config)) expected = skipCount(UnetConfig.read(config));
        Variant v = add(Files.readAllBytes(modelFile), expected, modelFile);
        Files.createDirectories(outDir);
        try (Stream<Path> files = Files.list(unetDir)) {
            for (Path f : files.toList()) {
                if (!Files.isRegularFile(f) || f.getFileName().toString().equals("model.onnx")) continue;
                Path to = outDir.resolve(f.getFileName().toString());
                try {
                    Files.createLink(to, f.toRealPath());
                } catch (FileSystemException | UnsupportedOperationException e) {
                    Files.copy(f, to);
                }
            }
        }
        Files.write(outDir.resolve("model.onnx"), v.model());
        return v.downResiduals();
    }

    /** The skip connections of a UNet: conv_in, one per down-block resnet, one per downsampler. */
    static int skipCount(UnetConfig c) {
        int n = 1;
        for (int i = 0; i < c.blockCount(); i++) n += c.layersPerBlock()[i] + (i < c.blockCount() - 1 ? 1 : 0);
        return n;
    }
}
