package io.streamdiffusion4j.convert;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Synthetic pictures to calibrate int8 activation ranges on, made here so conversion needs no
 * image files: smooth colour gradients (skies, walls, skin), flat shapes with hard edges at the
 * extremes of the range (objects, saturated highlights and shadows), a patch of fine stripes
 * (texture) and sensor noise. NCHW RGB in [-1, 1], the VAE encoder's input range; the same seed
 * gives the same pictures.
 */
public final class CalibrationImages {
    /** Bump when the pictures change (int8 copies calibrated on them are then made again). */
    public static final String VERSION = "v1";

    private CalibrationImages() {}

    public static List<float[]> generate(int count, int width, int height, long seed) {
        List<float[]> images = new ArrayList<>(count);
        SplittableRandom root = new SplittableRandom(seed);
        for (int i = 0; i < count; i++) images.add(image(root.split(), width, height));
        return images;
    }

    static float[] image(SplittableRandom r, int w, int h) {
        int plane = w * h;
        float[] x = new float[3 * plane];
        // background: a low-frequency wave per channel around a base colour
        for (int c = 0; c < 3; c++) {
            double base = r.nextDouble(-0.8, 0.8), amp = r.nextDouble(0.05, 0.5);
            double fx = r.nextDouble(0.5, 3) * 2 * Math.PI / w, fy = r.nextDouble(0.5, 3) * 2 * Math.PI / h;
            double phase = r.nextDouble(0, 2 * Math.PI);
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < w; xx++) x[c * plane + y * w + xx] = (float) (base + amp * Math.sin(fx * xx + fy * y + phase));
            }
        }
        // shapes: rectangles and ellipses, some at the ends of the range
        int shapes = 3 + r.nextInt(6);
        for (int s = 0; s < shapes; s++) {
            double cx = r.nextDouble(0, w), cy = r.nextDouble(0, h);
            double rx = r.nextDouble(w / 16.0, w / 3.0), ry = r.nextDouble(h / 16.0, h / 3.0);
            boolean ellipse = r.nextBoolean();
            float[] colour = new float[3];
            for (int c = 0; c < 3; c++) colour[c] = r.nextInt(4) == 0 ? (r.nextBoolean() ? 1f : -1f) : (float) r.nextDouble(-1, 1);
            for (int y = Math.max(0, (int) (cy - ry)); y < Math.min(h, (int) (cy + ry) + 1); y++) {
                for (int xx = Math.max(0, (int) (cx - rx)); xx < Math.min(w, (int) (cx + rx) + 1); xx++) {
                    double dx = (xx - cx) / rx, dy = (y - cy) / ry;
                    if (ellipse && dx * dx + dy * dy > 1) continue;
                    for (int c = 0; c < 3; c++) x[c * plane + y * w + xx] = colour[c];
                }
            }
        }
        // texture: a patch of one-to-three-pixel stripes
        int pw = w / 4, ph = h / 4, px = r.nextInt(w - pw + 1), py = r.nextInt(h - ph + 1), period = 2 + r.nextInt(5);
        float contrast = (float) r.nextDouble(0.2, 1);
        for (int y = py; y < py + ph; y++) {
            for (int xx = px; xx < px + pw; xx++) {
                float v = ((xx + y) % period < period / 2) ? contrast : -contrast;
                for (int c = 0; c < 3; c++) x[c * plane + y * w + xx] = v;
            }
        }
        // sensor noise, then the valid range
        for (int i = 0; i < x.length; i++) x[i] = Math.max(-1f, Math.min(1f, x[i] + (float) (r.nextGaussian() * 0.02)));
        return x;
    }
}
