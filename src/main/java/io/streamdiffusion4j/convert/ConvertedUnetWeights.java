package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.OnnxInitializers;
import io.streamdiffusion4j.weights.WeightSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The module-named weights of a UNet graph this project's converter wrote, read back from its ONNX
 * initializers: {@link Layers} stores a matrix transposed as {@code NAME.T} and a reshaped weight as
 * {@code NAME.as_...}; this view undoes both, so a converted UNet can be built again with changes
 * (an IP-Adapter's decoupled cross-attention) without its diffusers source. Graphs made by other
 * exporters (constant-folded, generated initializer names) are refused by the missing-weight error.
 */
final class ConvertedUnetWeights implements WeightSource {
    private final OnnxInitializers onnx;
    /** Module name to the stored initializer: itself, NAME.T, or NAME.as_... */
    private final Map<String, String> stored = new LinkedHashMap<>();

    private ConvertedUnetWeights(OnnxInitializers onnx) {
        this.onnx = onnx;
        for (String n : onnx.names()) {
            if (n.endsWith(".weight.T")) stored.putIfAbsent(n.substring(0, n.length() - 2), n);
            else if (n.contains(".as_")) stored.putIfAbsent(n.substring(0, n.indexOf(".as_")), n);
            else stored.putIfAbsent(n, n);
        }
    }

    static ConvertedUnetWeights read(Path model) throws IOException {
        OnnxInitializers onnx = OnnxInitializers.read(model, null);
        if (!onnx.has("conv_in.weight")) {
            onnx.close();
            throw new InputFileException(model + ": not a UNet converted by streamdiffusion4j (no initializer named conv_in.weight);"
                    + " an IP-Adapter needs the model's diffusers weights: give the diffusers folder or Hub id as --model");
        }
        return new ConvertedUnetWeights(onnx);
    }

    @Override
    public Set<String> names() {
        return stored.keySet();
    }

    private String storedName(String name) throws IOException {
        String s = stored.get(name);
        if (s == null) throw new InputFileException(onnx.origin() + ": no weight '" + name + "' (not a UNet this converter wrote?)");
        return s;
    }

    @Override
    public int[] shape(String name) throws IOException {
        String s = storedName(name);
        int[] shape = onnx.shape(s);
        if (s.endsWith(".T")) return new int[] {shape[1], shape[0]};
        if (s.contains(".as_")) {
            // the module's own shape is not recorded: Layers only reshapes 1-D norm weights to [C, 1, 1]
            long n = 1;
            for (int d : shape) n *= d;
            return new int[] {Math.toIntExact(n)};
        }
        return shape;
    }

    @Override
    public float[] floats(String name) throws IOException {
        String s = storedName(name);
        float[] v = onnx.floats(s);
        if (!s.endsWith(".T")) return v;
        int[] t = onnx.shape(s); // [in, out] of the stored transpose
        int rows = t[1];
        int cols = t[0];
        float[] out = new float[v.length];
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) out[r * cols + c] = v[c * rows + r];
        }
        return out;
    }

    @Override
    public String origin() {
        return onnx.origin();
    }

    @Override
    public void close() throws IOException {
        onnx.close();
    }
}
