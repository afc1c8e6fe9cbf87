package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.OperatorSetIdProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.LongConsumer;

/**
 * Writes an {@link OnnxGraph} as {@code model.onnx} with every weight in {@code model.onnx_data}
 * next to it (ONNX external data, 64-byte aligned), so models of any size stay clear of
 * protobuf's 2 GB limit and load by path. Weights are produced and written one at a time.
 */
public final class OnnxWriter {
    private static final int ALIGN = 64;

    private OnnxWriter() {}

    /**
     * @param progress receives the number of weight values written so far (may be null)
     */
    public static void write(OnnxGraph g, Path dir, LongConsumer progress) throws IOException {
        Files.createDirectories(dir);
        Path modelFile = dir.resolve("model.onnx");
        Path dataFile = dir.resolve("model.onnx_data");
        GraphProto.Builder graph = GraphProto.newBuilder().setName(g.name())
                .addAllNode(g.nodes()).addAllInput(g.inputs()).addAllOutput(g.outputs())
                .addAllInitializer(g.constants());
        long written = 0;
        if (!g.weights().isEmpty()) {
            try (OutputStream data = new BufferedOutputStream(Files.newOutputStream(dataFile), 1 << 20)) {
                long offset = 0;
                for (OnnxGraph.Weight w : g.weights()) {
                    float[] values;
                    try {
                        values = w.values().get();
                    } catch (UncheckedIOException e) {
                        throw e.getCause();
                    }
                    if (values.length != w.numel()) {
                        throw new IllegalStateException("weight " + w.name() + " has " + values.length + " values, shape "
                                + Arrays.toString(w.shape()) + " needs " + w.numel());
                    }
                    byte[] bytes = OnnxGraph.floatBytes(values, g.isHalf());
                    long pad = (ALIGN - offset % ALIGN) % ALIGN;
                    for (long i = 0; i < pad; i++) data.write(0);
                    offset += pad;
                    data.write(bytes);
                    TensorProto.Builder t = TensorProto.newBuilder().setName(w.name()).setDataType(g.floatType())
                            .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", dataFile.getFileName().toString()))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Long.toString(bytes.length)));
                    for (int d : w.shape()) t.addDims(d);
                    graph.addInitializer(t);
                    offset += bytes.length;
                    written += values.length;
                    if (progress != null) progress.accept(written);
                }
            }
        } else {
            Files.deleteIfExists(dataFile);
        }
        ModelProto model = ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("streamdiffusion4j")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OnnxGraph.OPSET))
                .setGraph(graph)
                .build();
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(modelFile))) {
            model.writeTo(os);
        }
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
