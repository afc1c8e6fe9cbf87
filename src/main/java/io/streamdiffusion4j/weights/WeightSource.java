package io.streamdiffusion4j.weights;

import java.io.IOException;
import java.util.Set;

/**
 * Named weight tensors, read on demand: a safetensors file, a sharded set of them, or the
 * initializers of an ONNX model. Values come out as float32 whatever the stored type.
 */
public interface WeightSource extends AutoCloseable {

    Set<String> names();

    default boolean has(String name) {
        return names().contains(name);
    }

    /** Shape of a tensor; a missing tensor is an error naming the source and the tensor. */
    int[] shape(String name) throws IOException;

    /** The tensor's values as float32 (F16 and BF16 are widened exactly). */
    float[] floats(String name) throws IOException;

    /** Where the weights come from, for messages. */
    String origin();

    @Override
    void close() throws IOException;
}
