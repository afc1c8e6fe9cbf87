package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.image.PillowResize;
import io.streamdiffusion4j.image.RgbImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code depth}: a monocular depth model in ONNX (Depth Anything or DPT/MiDaS as exported to ONNX,
 * for example {@code onnx-community/depth-anything-v2-small}'s {@code onnx/model.onnx}) turns the
 * frame into a depth map, white near and black far, as ControlNet's depth models were trained on.
 *
 * <p>The frame is resized (Pillow bicubic, as the models' image processors) to the model's input
 * size, or 518 x 518 (Depth Anything's) when the graph leaves it dynamic, and normalised with
 * ImageNet's mean and standard deviation. The output ({@code (1, h, w)} or {@code (1, 1, h, w)},
 * relative inverse depth) is scaled to [0, 1] by its own minimum and maximum, resized bilinearly to
 * the frame's size and written to all three channels. Calls are synchronized (one session).
 */
public final class OrtDepthPreprocessor implements ControlPreprocessor {
    public static final String NAME = "depth";
    /** Depth Anything's input size, used when the graph's is dynamic (a multiple of its 14-pixel patches). */
    static final int DEFAULT_SIZE = 518;
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    private final OnnxSession session;
    private final PinnedRun run;
    private final int width;
    private final int height;
    private final float[] input;
    private float[] depth;

    private OrtDepthPreprocessor(OnnxSession session) throws InvalidModelException {
        this.session = session;
        String in = session.inputInfo().keySet().iterator().next();
        String out = session.outputInfo().keySet().iterator().next();
        Port pixels = session.input("image", List.of(in), Set.of(OnnxJavaType.FLOAT), 4);
        Port result = session.output("depth", List.of(out), Set.of(OnnxJavaType.FLOAT), -1);
        long h = pixels.fixedDim(2), w = pixels.fixedDim(3);
        this.height = h > 0 ? (int) h : DEFAULT_SIZE;
        this.width = w > 0 ? (int) w : DEFAULT_SIZE;
        this.input = new float[3 * width * height];
        this.run = new PinnedRun(session, new Port[] {pixels}, new Port[] {result});
    }

    static OrtDepthPreprocessor open(SessionFactory sessions, Path file) throws IOException {
        OnnxSession s = sessions.open(file, Map.of());
        try {
            return new OrtDepthPreprocessor(s);
        } catch (InvalidModelException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public synchronized void apply(RgbImage frame, float[] out, int offset) {
        RgbImage resized = frame.width() == width && frame.height() == height ? frame
                : PillowResize.resize(frame, width, height, PillowResize.Filter.BICUBIC);
        int plane = width * height;
        byte[] rgb = resized.rgb();
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) input[c * plane + p] = ((rgb[p * 3 + c] & 0xff) / 255f - MEAN[c]) / STD[c];
        }
        int dh, dw;
        try {
            run.input(0, new long[] {1, 3, height, width}).writeFloats(input);
            run.run();
            DirectTensor d = run.output(0);
            long[] s = d.shape();
            if (s.length < 2 || d.size() != s[s.length - 1] * s[s.length - 2]) {
                throw new IllegalStateException("depth model " + session.file() + " gave " + java.util.Arrays.toString(s)
                        + ", expected one (h, w) map");
            }
            dh = (int) s[s.length - 2];
            dw = (int) s[s.length - 1];
            if (depth == null || depth.length != d.size()) depth = new float[d.size()];
            d.readFloats(depth);
        } catch (OrtException e) {
            throw new IllegalStateException("depth model " + session.file() + " failed: " + e.getMessage(), e);
        }
        writeNormalised(depth, dw, dh, frame.width(), frame.height(), out, offset);
    }

    /**
     * Scales {@code map} (dw x dh) to [0, 1] by its minimum and maximum (all 0 when flat), resizes
     * it bilinearly (pixel centres aligned, as torch's align_corners=False) to w x h and writes it
     * to the three planes at {@code offset}.
     */
    static void writeNormalised(float[] map, int dw, int dh, int w, int h, float[] out, int offset) {
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        for (float v : map) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        float range = max - min;
        int plane = w * h;
        for (int y = 0; y < h; y++) {
            float sy = Math.max(0f, (y + 0.5f) * dh / h - 0.5f);
            int y0 = Math.min((int) sy, dh - 1), y1 = Math.min(y0 + 1, dh - 1);
            float fy = sy - y0;
            for (int x = 0; x < w; x++) {
                float sx = Math.max(0f, (x + 0.5f) * dw / w - 0.5f);
                int x0 = Math.min((int) sx, dw - 1), x1 = Math.min(x0 + 1, dw - 1);
                float fx = sx - x0;
                float top = map[y0 * dw + x0] * (1 - fx) + map[y0 * dw + x1] * fx;
                float bottom = map[y1 * dw + x0] * (1 - fx) + map[y1 * dw + x1] * fx;
                float v = top * (1 - fy) + bottom * fy;
                float unit = range > 0 && Float.isFinite(range) ? Math.clamp((v - min) / range, 0f, 1f) : 0f;
                int p = y * w + x;
                out[offset + p] = unit;
                out[offset + plane + p] = unit;
                out[offset + 2 * plane + p] = unit;
            }
        }
    }

    /** The model's input size (width, height). */
    public int[] inputSize() {
        return new int[] {width, height};
    }

    @Override
    public synchronized void close() {
        run.close();
        session.close();
    }
}
