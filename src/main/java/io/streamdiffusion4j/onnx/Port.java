package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import java.util.Arrays;

/** One input or output of an ONNX session: its name, element type and shape (-1 = dynamic). */
public record Port(String name, OnnxJavaType type, long[] shape) {

    /** The size of dimension {@code i} when it is fixed in the graph, else -1. */
    public long fixedDim(int i) {
        return i < shape.length ? shape[i] : -1;
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape);
    }
}
