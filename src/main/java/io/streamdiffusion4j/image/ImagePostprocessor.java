package io.streamdiffusion4j.image;

import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Decoder output to pictures, as the original's {@code postprocess_image}: (x / 2 + 0.5)
 * clamped to [0, 1] (float32), then for 8-bit images {@code round(255 v)} with NumPy's
 * round-half-to-even.
 */
public final class ImagePostprocessor {

    private ImagePostprocessor() {}

    /** Image {@code index} of a (rows, 3, H, W) batch in [-1, 1] as HWC RGB floats in [0, 1]. */
    public static float[] toUnitHwc(FloatTensor images, int index) {
        int h = images.dim(2);
        int w = images.dim(3);
        int plane = h * w;
        float[] src = images.data();
        int base = index * 3 * plane;
        float[] out = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float v = src[base + c * plane + p] / 2f + 0.5f;
                out[p * 3 + c] = v < 0f ? 0f : (v > 1f ? 1f : v);
            }
        }
        return out;
    }

    /** HWC floats in [0, 1] to 8-bit RGB: round(255 v), half to even. */
    public static RgbImage toRgb(float[] unitHwc, int width, int height) {
        byte[] rgb = new byte[unitHwc.length];
        for (int i = 0; i < rgb.length; i++) {
            float scaled = unitHwc[i] * 255f;
            rgb[i] = (byte) (int) Math.rint(scaled);
        }
        return new RgbImage(width, height, rgb);
    }

    /** Every image of a decoded batch as 8-bit RGB. */
    public static List<RgbImage> toRgbImages(FloatTensor images) {
        List<RgbImage> out = new ArrayList<>(images.rows());
        for (int i = 0; i < images.rows(); i++) {
            out.add(toRgb(toUnitHwc(images, i), images.dim(3), images.dim(2)));
        }
        return out;
    }
}
