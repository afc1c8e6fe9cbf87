package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;

/**
 * Conversions between the pipeline's float32 tensors and ONNX Runtime tensors of whatever
 * element type the model declares. All pipeline arithmetic stays float32; float16 models are fed
 * and read through conversions here. Tensors are built on direct native-order buffers, which
 * ONNX Runtime uses without copying.
 */
final class OnnxTensors {
    private OnnxTensors() {}

    static OnnxTensor floats(OrtEnvironment env, Port port, FloatTensor t) throws OrtException {
        long[] shape = t.shapeAsLongs();
        float[] d = t.data();
        if (port.type() == OnnxJavaType.FLOAT) {
            FloatBuffer b = ByteBuffer.allocateDirect(d.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
            b.put(d).flip();
            return OnnxTensor.createTensor(env, b, shape);
        }
        if (port.type() == OnnxJavaType.FLOAT16) {
            ShortBuffer b = ByteBuffer.allocateDirect(d.length * 2).order(ByteOrder.nativeOrder()).asShortBuffer();
            for (float v : d) b.put(Float.floatToFloat16(v));
            b.flip();
            return OnnxTensor.createTensor(env, b, shape, OnnxJavaType.FLOAT16);
        }
        throw new IllegalArgumentException(port.name() + ": cannot feed floats as " + port.type());
    }

    static OnnxTensor integers(OrtEnvironment env, Port port, long[] values, long[] shape) throws OrtException {
        ByteBuffer raw;
        switch (port.type()) {
            case INT64 -> {
                LongBuffer b = ByteBuffer.allocateDirect(values.length * 8).order(ByteOrder.nativeOrder()).asLongBuffer();
                b.put(values).flip();
                return OnnxTensor.createTensor(env, b, shape);
            }
            case INT32 -> {
                raw = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
                for (long v : values) raw.putInt(Math.toIntExact(v));
                raw.flip();
                return OnnxTensor.createTensor(env, raw.asIntBuffer(), shape);
            }
            case FLOAT -> {
                raw = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
                for (long v : values) raw.putFloat(v);
                raw.flip();
                return OnnxTensor.createTensor(env, raw.asFloatBuffer(), shape);
            }
            case FLOAT16 -> {
                raw = ByteBuffer.allocateDirect(values.length * 2).order(ByteOrder.nativeOrder());
                for (long v : values) raw.putShort(Float.floatToFloat16(v));
                raw.flip();
                return OnnxTensor.createTensor(env, raw.asShortBuffer(), shape, OnnxJavaType.FLOAT16);
            }
            default -> throw new IllegalArgumentException(port.name() + ": cannot feed integers as " + port.type());
        }
    }

    /** Reads a float32 or float16 output into a float32 tensor. */
    static FloatTensor read(OnnxTensor t) {
        long[] s = t.getInfo().getShape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
        float[] out = new float[Math.toIntExact(FloatTensor.numel(shape))];
        OnnxJavaType type = t.getInfo().type;
        if (type == OnnxJavaType.FLOAT) {
            t.getFloatBuffer().get(out);
        } else if (type == OnnxJavaType.FLOAT16) {
            ShortBuffer b = t.getShortBuffer();
            for (int i = 0; i < out.length; i++) out[i] = Float.float16ToFloat(b.get(i));
        } else {
            throw new IllegalStateException("expected a float32 or float16 output, found " + type);
        }
        return new FloatTensor(out, shape);
    }
}
