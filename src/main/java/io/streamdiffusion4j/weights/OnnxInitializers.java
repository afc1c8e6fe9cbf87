package io.streamdiffusion4j.weights;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The float initializers of an ONNX model as named weights, for models that exist only as ONNX
 * (for example a TAESD export). Names can be stripped of a wrapper prefix ({@code vae.}), so
 * {@code vae.encoder.layers.0.weight} reads as {@code encoder.layers.0.weight}. Initializers
 * with generated names (constant-folded MatMul weights) are listed under those names.
 */
public final class OnnxInitializers implements WeightSource {
    private final Path file;
    private final Map<String, TensorProto> tensors;

    private OnnxInitializers(Path file, Map<String, TensorProto> tensors) {
        this.file = file;
        this.tensors = tensors;
    }

    public static OnnxInitializers read(Path file, String stripPrefix) throws IOException {
        if (!Files.isRegularFile(file)) throw new InputFileException("ONNX model not found: " + file);
        ModelProto model;
        try (InputStream in = Files.newInputStream(file)) {
            model = ModelProto.parseFrom(in);
        }
        Map<String, TensorProto> map = new LinkedHashMap<>();
        for (TensorProto t : model.getGraph().getInitializerList()) {
            String name = t.getName();
            if (stripPrefix != null && name.startsWith(stripPrefix)) name = name.substring(stripPrefix.length());
            map.put(name, t);
        }
        return new OnnxInitializers(file, Collections.unmodifiableMap(map));
    }

    private TensorProto tensor(String name) throws IOException {
        TensorProto t = tensors.get(name);
        if (t == null) throw new InputFileException(file + ": no initializer named '" + name + "'");
        return t;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public int[] shape(String name) throws IOException {
        TensorProto t = tensor(name);
        int[] s = new int[t.getDimsCount()];
        for (int i = 0; i < s.length; i++) {
            long d = t.getDims(i);
            if (d < 0 || d > Integer.MAX_VALUE) throw new InputFileException(file + ": initializer '" + name + "' has dimension " + d
                    + " in its shape " + t.getDimsList());
            s[i] = (int) d;
        }
        return s;
    }

    @Override
    public float[] floats(String name) throws IOException {
        TensorProto t = tensor(name);
        int n = numel(t, name);
        DType dtype = switch (t.getDataType()) {
            case TensorProto.DataType.FLOAT_VALUE -> DType.F32;
            case TensorProto.DataType.FLOAT16_VALUE -> DType.F16;
            case TensorProto.DataType.BFLOAT16_VALUE -> DType.BF16;
            case TensorProto.DataType.DOUBLE_VALUE -> DType.F64;
            default -> throw new InputFileException(file + ": initializer '" + name + "' is not a float tensor");
        };
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            return SafeTensors.toFloats(external(t, name, (long) n * dtype.size()), dtype, n);
        }
        if (t.hasRawData()) {
            if (t.getRawData().size() != (long) n * dtype.size()) {
                throw new InputFileException(file + ": initializer '" + name + "' of shape " + t.getDimsList() + " needs "
                        + (long) n * dtype.size() + " bytes of " + dtype + ", raw_data holds " + t.getRawData().size());
            }
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            return SafeTensors.toFloats(b, dtype, n);
        }
        if (dtype == DType.F32) {
            if (t.getFloatDataCount() != n) {
                throw new InputFileException(file + ": initializer '" + name + "' of shape " + t.getDimsList() + " needs " + n
                        + " values, float_data holds " + t.getFloatDataCount());
            }
            float[] out = new float[n];
            for (int i = 0; i < n; i++) out[i] = t.getFloatData(i);
            return out;
        }
        throw new InputFileException(file + ": initializer '" + name + "' stores its data in an unsupported field");
    }

    /**
     * The bytes of an initializer whose data lies in an external file, {@code bytes} long (the
     * caller knows the element type), mapped read-only, little-endian.
     */
    public ByteBuffer externalBytes(String name, long bytes) throws IOException {
        return external(tensor(name), name, bytes);
    }

    private ByteBuffer external(TensorProto t, String name, long bytes) throws IOException {
        String location = null;
        long offset = 0;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parseOffset(e.getValue(), name);
                default -> { }
            }
        }
        if (location == null) throw new InputFileException(file + ": initializer '" + name + "' has external data without a location");
        Path data = externalFile(location, name);
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ)) {
            if (offset > ch.size() - bytes) {
                throw new InputFileException(data + ": initializer '" + name + "' lies beyond the end of the file");
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** The element count from the dims, refused when a dimension is negative or the count passes what an array holds. */
    private int numel(TensorProto t, String name) throws IOException {
        long numel = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) throw new InputFileException(file + ": initializer '" + name + "' has a negative dimension in " + t.getDimsList());
            if (d != 0 && numel > (Integer.MAX_VALUE - 8) / d) {
                throw new InputFileException(file + ": initializer '" + name + "' of shape " + t.getDimsList() + " is too large to read");
            }
            numel *= d;
        }
        return (int) numel;
    }

    private long parseOffset(String value, String name) throws IOException {
        try {
            long offset = Long.parseLong(value);
            if (offset >= 0) return offset;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InputFileException(file + ": initializer '" + name + "' has external data offset '" + value
                + "', expected a whole number >= 0");
    }

    /**
     * The external data file, which must lie in the model's folder or below it (ONNX's own rule):
     * a model file must not make the reader open files elsewhere.
     */
    private Path externalFile(String location, String name) throws IOException {
        Path folder = file.toAbsolutePath().getParent();
        Path data;
        boolean absolute;
        try {
            absolute = Path.of(location).isAbsolute();
            data = folder.resolve(location).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new InputFileException(file + ": initializer '" + name + "' has external data location '" + location
                    + "', which is not a file name: " + e.getMessage(), e);
        }
        if (absolute || !data.startsWith(folder)) {
            throw new InputFileException(file + ": initializer '" + name + "' has external data location '" + location
                    + "' outside the model's folder " + folder);
        }
        return data;
    }

    @Override
    public String origin() {
        return file.toString();
    }

    @Override
    public void close() {}
}
