package io.streamdiffusion4j.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.streamdiffusion4j.model.SdxlConditioning;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.OperatorSetIdProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Rewrites an SDXL UNet graph (Optimum's inputs {@code sample, timestep, encoder_hidden_states,
 * text_embeds, time_ids}, as this project's converter and Optimum's exporter write it) to take
 * the packed prompt embedding of {@link SdxlConditioning} instead: {@code encoder_hidden_states}
 * becomes {@code (B, 77 + 1, D)}, and nodes in front of the original graph cut it into the token
 * embeddings (the first 77 rows) and {@code text_embeds} (the first P values of the last row), and
 * make {@code time_ids} = (8h, 8w, 0, 0, 8h, 8w) from the sample's latent size, one row per sample.
 * Everything the added embedding computes then depends only on the prompt and the sample's shape,
 * so {@link UnetConditioningSplit} moves it into the pre-computed part with the rest.
 */
final class SdxlUnetInputs {
    /** Part of the optimised-model cache key of rewritten graphs: change it when the rewrite changes. */
    static final String VERSION = "1";
    static final String HIDDEN_STATES = "encoder_hidden_states";
    static final String TEXT_EMBEDS = "text_embeds";
    static final String TIME_IDS = "time_ids";
    private static final String SAMPLE = "sample";
    private static final String P = "sdxl_packed/";

    private SdxlUnetInputs() {}

    /** Whether a graph with these inputs is an SDXL UNet that needs the rewrite. */
    static boolean applies(GraphInputs inputs) {
        return inputs.inputs().containsKey(TEXT_EMBEDS) && inputs.inputs().containsKey(TIME_IDS);
    }

    /** The rewritten model. */
    static byte[] rewrite(byte[] modelBytes, Path origin) throws InvalidModelException {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(modelBytes);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidModelException(origin + ": not a valid ONNX model: " + e.getMessage(), e);
        }
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() && o.getVersion() < 13) {
                throw new InvalidModelException(origin + ": opset " + o.getVersion() + " is too old for the SDXL input rewrite (13 or newer)");
            }
        }
        GraphProto g = model.getGraph();
        ValueInfoProto hidden = input(g, HIDDEN_STATES, origin);
        ValueInfoProto text = input(g, TEXT_EMBEDS, origin);
        ValueInfoProto time = input(g, TIME_IDS, origin);
        input(g, SAMPLE, origin);
        long pooledWidth = fixedDim(text, 1, origin);
        long width = hidden.getType().getTensorType().getShape().getDimCount() == 3
                ? hidden.getType().getTensorType().getShape().getDim(2).getDimValue() : 0;
        if (width > 0 && pooledWidth > width) {
            throw new InvalidModelException(origin + ": text_embeds (" + pooledWidth + ") is wider than encoder_hidden_states ("
                    + width + "); the pooled embedding cannot ride in an extra row");
        }
        String tokens = P + "tokens";
        GraphProto.Builder b = g.toBuilder().clearNode().clearInput();
        // the packed input replaces the three conditioning inputs, in the place of encoder_hidden_states
        for (ValueInfoProto v : g.getInputList()) {
            if (v.getName().equals(HIDDEN_STATES)) b.addInput(packed(v));
            else if (!v.getName().equals(TEXT_EMBEDS) && !v.getName().equals(TIME_IDS)) b.addInput(v);
        }
        b.addInitializer(longs(P + "zero", 0)).addInitializer(longs(P + "minus_one", -1))
                .addInitializer(longs(P + "end", Long.MAX_VALUE)).addInitializer(longs(P + "one", 1))
                .addInitializer(longs(P + "two", 2)).addInitializer(longs(P + "four", 4))
                .addInitializer(longs(P + "pooled_width", pooledWidth))
                .addInitializer(longs(P + "pixels_per_latent", SdxlConditioning.PIXELS_PER_LATENT))
                .addInitializer(longs(P + "no_crop", 0, 0)).addInitializer(longs(P + "six", 6));
        // tokens = packed[:, :-1]; text_embeds = packed[:, -1, :P]
        b.addNode(node("Slice", List.of(HIDDEN_STATES, P + "zero", P + "minus_one", P + "one"), tokens));
        b.addNode(node("Slice", List.of(HIDDEN_STATES, P + "minus_one", P + "end", P + "one"), P + "last_row"));
        b.addNode(node("Slice", List.of(P + "last_row", P + "zero", P + "pooled_width", P + "two"), P + "pooled_row"));
        b.addNode(node("Squeeze", List.of(P + "pooled_row", P + "one"), castTo(text, hidden) ? P + "pooled" : TEXT_EMBEDS));
        if (castTo(text, hidden)) b.addNode(cast(P + "pooled", TEXT_EMBEDS, elemType(text)));
        // time_ids = (8h, 8w, 0, 0, 8h, 8w) per sample row
        b.addNode(node("Shape", List.of(SAMPLE), P + "sample_shape"));
        b.addNode(node("Slice", List.of(P + "sample_shape", P + "two", P + "four", P + "zero"), P + "latent_hw"));
        b.addNode(node("Mul", List.of(P + "latent_hw", P + "pixels_per_latent"), P + "pixel_hw"));
        b.addNode(node("Concat", List.of(P + "pixel_hw", P + "no_crop", P + "pixel_hw"), P + "ids", axis(0)));
        b.addNode(cast(P + "ids", P + "ids_float", elemType(time)));
        b.addNode(node("Unsqueeze", List.of(P + "ids_float", P + "zero"), P + "ids_row"));
        b.addNode(node("Slice", List.of(P + "sample_shape", P + "zero", P + "one", P + "zero"), P + "batch"));
        b.addNode(node("Concat", List.of(P + "batch", P + "six"), P + "ids_shape", axis(0)));
        b.addNode(node("Expand", List.of(P + "ids_row", P + "ids_shape"), TIME_IDS));
        for (NodeProto n : g.getNodeList()) {
            NodeProto.Builder nb = n.toBuilder();
            for (int i = 0; i < n.getInputCount(); i++) if (n.getInput(i).equals(HIDDEN_STATES)) nb.setInput(i, tokens);
            b.addNode(nb);
        }
        return model.toBuilder().setGraph(b).build().toByteArray();
    }

    /** The input sizes of the rewritten graph for a stream's fixed shapes (one more token row). */
    static Map<String, long[]> staticInputs(Map<String, long[]> original) {
        Map<String, long[]> out = new java.util.HashMap<>(original);
        long[] h = original.get(HIDDEN_STATES);
        if (h != null) out.put(HIDDEN_STATES, new long[] {h[0], h[1] + 1, h[2]});
        return out;
    }

    private static boolean castTo(ValueInfoProto text, ValueInfoProto hidden) {
        return elemType(text) != elemType(hidden);
    }

    private static ValueInfoProto packed(ValueInfoProto v) {
        ValueInfoProto.Builder b = v.toBuilder();
        var shape = b.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
        if (shape.getDimCount() == 3) {
            shape.setDim(1, TensorShapeProto.Dimension.newBuilder().setDimParam("packed_sequence_length"));
        }
        return b.build();
    }

    private static int elemType(ValueInfoProto v) {
        return v.getType().getTensorType().getElemType();
    }

    private static long fixedDim(ValueInfoProto v, int axis, Path origin) throws InvalidModelException {
        var shape = v.getType().getTensorType().getShape();
        if (shape.getDimCount() != 2 || shape.getDim(axis).getDimValue() <= 0) {
            throw new InvalidModelException(origin + ": input '" + v.getName() + "' should be (batch, width) with a fixed width, found "
                    + shape.getDimList().stream().map(d -> d.hasDimValue() ? String.valueOf(d.getDimValue()) : d.getDimParam()).toList());
        }
        return shape.getDim(axis).getDimValue();
    }

    private static ValueInfoProto input(GraphProto g, String name, Path origin) throws InvalidModelException {
        for (ValueInfoProto v : g.getInputList()) if (v.getName().equals(name)) return v;
        throw new InvalidModelException(origin + ": an SDXL UNet needs an input '" + name + "'");
    }

    private static NodeProto node(String op, List<String> inputs, String output, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(P + output).addAllInput(inputs).addOutput(output);
        for (AttributeProto a : attrs) n.addAttribute(a);
        return n.build();
    }

    private static NodeProto cast(String from, String to, int type) {
        return node("Cast", List.of(from), to, AttributeProto.newBuilder().setName("to")
                .setType(AttributeProto.AttributeType.INT).setI(type).build());
    }

    private static AttributeProto axis(long a) {
        return AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(a).build();
    }

    private static TensorProto longs(String name, long... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) buf.putLong(v);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(values.length)
                .setRawData(ByteString.copyFrom(buf.array())).build();
    }
}
