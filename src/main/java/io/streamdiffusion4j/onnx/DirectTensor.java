package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;

/**
 * An ONNX Runtime tensor over a direct, native-order buffer that this class owns. ONNX Runtime
 * reads inputs from it and writes pinned outputs into it in place (no copy, no allocation per
 * run), so one is made per input and output and reused for as long as the shape stays the same.
 * float16 tensors are converted from and to float32 on the way in and out.
 */
final class DirectTensor implements AutoCloseable {
    private final OnnxJavaType type;
    private final long[] shape;
    private final int size;
    private final ByteBuffer bytes;
    // Views made once: creating a view per call would allocate on every frame.
    private final FloatBuffer floats;
    private final ShortBuffer shorts;
    private final IntBuffer ints;
    private final LongBuffer longs;
    private final OnnxTensor tensor;

    private DirectTensor(OrtEnvironment env, OnnxJavaType type, long[] shape) throws OrtException {
        this.type = type;
        this.shape = shape.clone();
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("cannot allocate a tensor of dynamic shape " + Arrays.toString(shape));
            n *= d;
        }
        this.size = Math.toIntExact(n);
        int width = switch (type) {
            case FLOAT, INT32 -> 4;
            case INT64 -> 8;
            case FLOAT16 -> 2;
            default -> throw new IllegalArgumentException("unsupported tensor element type " + type);
        };
        this.bytes = ByteBuffer.allocateDirect(Math.multiplyExact(size, width)).order(ByteOrder.nativeOrder());
        this.floats = bytes.asFloatBuffer();
        this.shorts = bytes.asShortBuffer();
        this.ints = bytes.asIntBuffer();
        this.longs = bytes.asLongBuffer();
        this.tensor = switch (type) {
            case FLOAT -> OnnxTensor.createTensor(env, floats, shape);
            case INT32 -> OnnxTensor.createTensor(env, ints, shape);
            case INT64 -> OnnxTensor.createTensor(env, longs, shape);
            default -> OnnxTensor.createTensor(env, bytes, shape, OnnxJavaType.FLOAT16);
        };
        NativeTensors.opened();
    }

    static DirectTensor allocate(OrtEnvironment env, OnnxJavaType type, long[] shape) throws OrtException {
        return new DirectTensor(env, type, shape);
    }

    boolean hasShape(long[] s) {
        return Arrays.equals(shape, s);
    }

    long[] shape() {
        return shape.clone();
    }

    int size() {
        return size;
    }

    OnnxJavaType type() {
        return type;
    }

    OnnxTensor tensor() {
        return tensor;
    }

    /** Writes float32 values (a float16 tensor gets them rounded to float16). */
    void writeFloats(float[] src) {
        requireLength(src.length);
        if (type == OnnxJavaType.FLOAT) {
            floats.put(0, src, 0, size);
        } else if (type == OnnxJavaType.FLOAT16) {
            for (int i = 0; i < size; i++) shorts.put(i, Float.floatToFloat16(src[i]));
        } else {
            throw new IllegalStateException("cannot write floats into a " + type + " tensor");
        }
    }

    /** Writes integral values in the tensor's element type (timesteps may be int64, int32, float or float16). */
    void writeIntegers(long[] src) {
        requireLength(src.length);
        switch (type) {
            case INT64 -> longs.put(0, src, 0, size);
            case INT32 -> {
                for (int i = 0; i < size; i++) ints.put(i, Math.toIntExact(src[i]));
            }
            case FLOAT -> {
                for (int i = 0; i < size; i++) floats.put(i, src[i]);
            }
            case FLOAT16 -> {
                for (int i = 0; i < size; i++) shorts.put(i, Float.floatToFloat16(src[i]));
            }
            default -> throw new IllegalStateException("cannot write integers into a " + type + " tensor");
        }
    }

    /** Reads the values as float32 into {@code dst} (which must hold exactly {@link #size} values). */
    void readFloats(float[] dst) {
        requireLength(dst.length);
        if (type == OnnxJavaType.FLOAT) {
            floats.get(0, dst, 0, size);
        } else if (type == OnnxJavaType.FLOAT16) {
            for (int i = 0; i < size; i++) dst[i] = Float.float16ToFloat(shorts.get(i));
        } else {
            throw new IllegalStateException("cannot read floats from a " + type + " tensor");
        }
    }

    /** Copies a tensor of the same shape and type that ONNX Runtime allocated (the first, unpinned run). */
    void copyFrom(OnnxTensor t) {
        if (type == OnnxJavaType.FLOAT) {
            floats.put(0, readAll(t.getFloatBuffer()), 0, size);
        } else if (type == OnnxJavaType.FLOAT16) {
            ShortBuffer src = t.getShortBuffer();
            for (int i = 0; i < size; i++) shorts.put(i, src.get(i));
        } else {
            // integer outputs (a pre-computed shape value, for example): the raw bytes as they are
            ByteBuffer src = t.getByteBuffer();
            bytes.put(0, src, src.position(), bytes.capacity());
        }
    }

    /** A copy of this tensor that the caller owns. */
    DirectTensor copy(OrtEnvironment env) throws OrtException {
        DirectTensor c = new DirectTensor(env, type, shape);
        c.bytes.put(0, bytes, 0, bytes.capacity());
        return c;
    }

    private float[] readAll(FloatBuffer b) {
        float[] a = new float[size];
        b.get(0, a, 0, size);
        return a;
    }

    private void requireLength(int n) {
        if (n != size) throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " holds " + size + " values, not " + n);
    }

    @Override
    public void close() {
        if (tensor.isClosed()) return;
        tensor.close();
        NativeTensors.closed();
    }
}
