package io.streamdiffusion4j.onnx;

/**
 * Small conversions between ONNX Runtime's shapes and the pipeline's. Tensors themselves live in
 * {@link DirectTensor}: direct, native-order buffers reused across calls, which ONNX Runtime uses
 * without copying; float16 models are fed and read through conversions there, and all pipeline
 * arithmetic stays float32.
 */
final class OnnxTensors {
    private OnnxTensors() {}

    /** An ONNX Runtime shape (long) as the pipeline's (int); a dimension past int's range is an error. */
    static int[] intShape(long[] s) {
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
        return shape;
    }
}
