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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.LongConsumer;

/**
 * Writes an {@link OnnxGraph} as {@code model.onnx} with every weight in {@code model.onnx_data}
 * next to it (ONNX external data, 64-byte aligned), so models of any size stay clear of
 * protobuf's 2 GB limit and load by path. Weights are produced and written one at a time, through
 * a reused 1 MiB buffer, and dropped before the next is produced (the weights come from
 * safetensors files mapped one tensor at a time, see {@code SafeTensors#floats}): converting a
 * model needs about its largest tensor in memory, not the model.
 */
public final class OnnxWriter {
    private static final int ALIGN = 64;
    private static final int CHUNK = 1 << 20;
    /** Bytes of weight values produced between two garbage collections (see {@link #collectGarbage}). */
    private static final long COLLECT_EVERY = 256L << 20;

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
            try (FileChannel data = FileChannel.open(dataFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
                long offset = 0;
                long sinceCollection = 0;
                for (OnnxGraph.Weight w : g.weights()) {
                    offset += (ALIGN - offset % ALIGN) % ALIGN;
                    long length = writeWeight(data, chunk, offset, w, g.isHalf());
                    TensorProto.Builder t = TensorProto.newBuilder().setName(w.name()).setDataType(g.floatType())
                            .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", dataFile.getFileName().toString()))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Long.toString(length)));
                    for (int d : w.shape()) t.addDims(d);
                    graph.addInitializer(t);
                    offset += length;
                    written += w.numel();
                    sinceCollection += w.numel() * Float.BYTES;
                    if (sinceCollection >= COLLECT_EVERY) {
                        collectGarbage();
                        sinceCollection = 0;
                    }
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

    /**
     * Collects the weights already written. Each weight's values are a large short-lived array
     * (G1 allocates them outside the young generation), and G1 grows the heap towards its limit (a
     * quarter of the machine's memory by default) rather than collect them: converting sd-turbo
     * (4.9 GB of weights) grew the heap to 5.9 GB holding 20 MB of live data. A collection after
     * every 256 MiB of weights keeps the heap near that plus the largest tensor, for about 20
     * collections of a small live set per model (-XX:+DisableExplicitGC turns it off).
     */
    private static void collectGarbage() {
        System.gc();
    }

    /**
     * Produces one weight's values and writes them at {@code position}; returns the bytes written.
     * The values live only in this call, so while the next weight is produced no earlier one is
     * held: the heap needs about one tensor (the largest) at a time, whatever the model's size.
     */
    private static long writeWeight(FileChannel data, ByteBuffer chunk, long position, OnnxGraph.Weight w, boolean half)
            throws IOException {
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
        return writeValues(data, chunk, position, values, half);
    }

    /**
     * Writes {@code values} in the graph's float type at {@code position} through {@code chunk}
     * (a reused buffer), so no second full-size copy of a tensor is made; returns the bytes written.
     */
    private static long writeValues(FileChannel data, ByteBuffer chunk, long position, float[] values, boolean half)
            throws IOException {
        int width = half ? 2 : 4;
        long pos = position;
        int i = 0;
        while (i < values.length) {
            chunk.clear();
            int n = Math.min(values.length - i, CHUNK / width);
            if (half) {
                for (int k = 0; k < n; k++) chunk.putShort(Float.floatToFloat16(values[i + k]));
            } else {
                chunk.asFloatBuffer().put(values, i, n);
                chunk.position(n * 4);
            }
            chunk.flip();
            while (chunk.hasRemaining()) pos += data.write(chunk, pos);
            i += n;
        }
        return (long) values.length * width;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
