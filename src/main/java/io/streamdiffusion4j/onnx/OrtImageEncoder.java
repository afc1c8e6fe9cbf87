package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.image.ClipImageProcessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.ImageEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * An IP-Adapter's image graph ({@code pixel_values -> image_tokens, negative_image_tokens}, see
 * convert.IpAdapterImageGraph) on ONNX Runtime's CPU provider: it runs once per style image, so
 * a plain session is enough. The negative tokens do not depend on the image; they are kept from
 * the first run.
 */
public final class OrtImageEncoder implements ImageEncoder {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final int imageSize;
    private final FloatTensor negative;

    private OrtImageEncoder(OrtEnvironment env, OrtSession session, int imageSize) throws OrtException {
        this.env = env;
        this.session = session;
        this.imageSize = imageSize;
        this.negative = run(FloatTensor.zeros(1, 3, imageSize, imageSize))[1];
    }

    /** Opens {@code dir/model.onnx}; the image side comes from its {@code pixel_values} input. */
    public static OrtImageEncoder open(Path dir) throws InvalidModelException {
        Path file = dir.resolve("model.onnx");
        if (!Files.isRegularFile(file)) throw new InvalidModelException("IP-Adapter image encoder not found: " + file);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            session = env.createSession(file.toString(), options);
            var info = session.getInputInfo().get("pixel_values");
            if (info == null || !(info.getInfo() instanceof ai.onnxruntime.TensorInfo t) || t.getShape().length != 4
                    || t.getShape()[3] <= 0) {
                throw new InvalidModelException(file + ": not an IP-Adapter image graph (no pixel_values input of a fixed size)");
            }
            return new OrtImageEncoder(env, session, (int) t.getShape()[3]);
        } catch (OrtException e) {
            if (session != null) closeQuietly(session);
            throw new InvalidModelException(file + ": " + e.getMessage(), e);
        } catch (InvalidModelException e) {
            closeQuietly(session);
            throw e;
        }
    }

    private static void closeQuietly(OrtSession s) {
        try {
            s.close();
        } catch (OrtException ignored) {
            // closing after a failure: the first error is the one to report
        }
    }

    /** image_tokens and negative_image_tokens for these pixel values. */
    private FloatTensor[] run(FloatTensor pixels) throws OrtException {
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels.data()), pixels.shapeAsLongs());
             OrtSession.Result r = session.run(Map.of("pixel_values", in))) {
            return new FloatTensor[] {read((OnnxTensor) r.get("image_tokens").orElseThrow()),
                    read((OnnxTensor) r.get("negative_image_tokens").orElseThrow())};
        }
    }

    private static FloatTensor read(OnnxTensor t) {
        long[] s = t.getInfo().getShape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
        float[] v = new float[Math.toIntExact(FloatTensor.numel(shape))];
        t.getFloatBuffer().get(v);
        return new FloatTensor(v, shape);
    }

    @Override
    public synchronized FloatTensor encode(RgbImage image) {
        try {
            return run(ClipImageProcessor.pixelValues(image, imageSize))[0];
        } catch (OrtException e) {
            throw new IllegalStateException("IP-Adapter image encoder failed on a " + image.width() + "x" + image.height()
                    + " image: " + e.getMessage(), e);
        }
    }

    @Override
    public FloatTensor negativeTokens() {
        return negative;
    }

    @Override
    public int tokens() {
        return negative.dim(1);
    }

    @Override
    public int crossAttentionDim() {
        return negative.dim(2);
    }

    @Override
    public synchronized void close() {
        closeQuietly(session);
    }
}
