package io.streamdiffusion4j.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The declared inputs of an ONNX file, with the names of their symbolic dimensions, read
 * before a session exists (symbolic-dimension overrides must be set when the session is made).
 * Only the graph's input list is decoded; weights stored inside the file are skipped, so this
 * stays cheap for single-file models of a gigabyte or more.
 */
record GraphInputs(Map<String, List<Dim>> inputs) {
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_INPUT = 11;

    /** One dimension: a fixed size (> 0), or a symbolic name, or neither (unnamed and dynamic). */
    record Dim(long value, String name) {}

    static GraphInputs read(Path file) throws InvalidModelException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(CodedInputStream.newInstance(in), file);
        } catch (IOException e) {
            if (e instanceof InvalidModelException ime) throw ime;
            throw new InvalidModelException(file + ": cannot read the graph's inputs: " + e.getMessage(), e);
        }
    }

    static GraphInputs read(byte[] model, Path origin) throws InvalidModelException {
        try {
            return read(CodedInputStream.newInstance(model), origin);
        } catch (IOException e) {
            if (e instanceof InvalidModelException ime) throw ime;
            throw new InvalidModelException(origin + ": cannot read the graph's inputs: " + e.getMessage(), e);
        }
    }

    private static GraphInputs read(CodedInputStream in, Path origin) throws IOException {
        in.setSizeLimit(Integer.MAX_VALUE);
        Map<String, List<Dim>> inputs = new LinkedHashMap<>();
        boolean sawGraph = false;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (WireFormat.getTagFieldNumber(tag) != MODEL_GRAPH
                    || WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                in.skipField(tag);
                continue;
            }
            sawGraph = true;
            int limit = in.pushLimit(in.readRawVarint32());
            for (int t = in.readTag(); t != 0; t = in.readTag()) {
                if (WireFormat.getTagFieldNumber(t) == GRAPH_INPUT && WireFormat.getTagWireType(t) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    ValueInfoProto v = ValueInfoProto.parseFrom(in.readBytes());
                    inputs.put(v.getName(), dims(v));
                } else {
                    in.skipField(t);
                }
            }
            in.popLimit(limit);
        }
        if (!sawGraph) throw new InvalidModelException(origin + ": not an ONNX model (no graph found)");
        return new GraphInputs(Collections.unmodifiableMap(inputs));
    }

    private static List<Dim> dims(ValueInfoProto v) {
        List<Dim> out = new ArrayList<>();
        if (!v.getType().hasTensorType()) return out;
        for (TensorShapeProto.Dimension d : v.getType().getTensorType().getShape().getDimList()) {
            if (d.hasDimValue() && d.getDimValue() > 0) out.add(new Dim(d.getDimValue(), null));
            else if (d.hasDimParam() && !d.getDimParam().isEmpty()) out.add(new Dim(-1, d.getDimParam()));
            else out.add(new Dim(-1, null));
        }
        return out;
    }
}
