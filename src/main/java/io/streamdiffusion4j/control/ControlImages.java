package io.streamdiffusion4j.control;

import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;

/** Control images as the ControlNet takes them: (frames, 3, H, W), float32 in [0, 1], channels first. */
public final class ControlImages {
    private ControlImages() {}

    /** The control images of frames already at the stream's size, one row each. */
    public static FloatTensor of(List<RgbImage> frames, ControlPreprocessor preprocessor) {
        RgbImage first = frames.getFirst();
        int w = first.width(), h = first.height();
        int size = 3 * w * h;
        float[] out = new float[frames.size() * size];
        for (int i = 0; i < frames.size(); i++) {
            RgbImage f = frames.get(i);
            if (f.width() != w || f.height() != h) {
                throw new IllegalArgumentException("control frames differ in size: " + w + "x" + h + " and " + f.width() + "x" + f.height());
            }
            preprocessor.apply(f, out, i * size);
        }
        return new FloatTensor(out, frames.size(), 3, h, w);
    }

    /** Pixels /255, channels first, into {@code out} from {@code offset}. */
    static void writeUnit(RgbImage image, float[] out, int offset) {
        int plane = image.width() * image.height();
        byte[] rgb = image.rgb();
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) out[offset + c * plane + p] = (rgb[p * 3 + c] & 0xff) / 255f;
        }
    }

    /**
     * Row {@code row} of a model input batch in [-1, 1] (as {@link io.streamdiffusion4j.image.ImagePreprocessor}
     * makes it) back to 8-bit pixels, rounded: exact for tensors made from 8-bit frames.
     */
    public static RgbImage frameOf(FloatTensor images, int row) {
        int h = images.dim(2), w = images.dim(3);
        int plane = w * h;
        byte[] rgb = new byte[3 * plane];
        float[] d = images.data();
        int base = row * 3 * plane;
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float unit = (d[base + c * plane + p] + 1f) / 2f;
                int v = Math.round(unit * 255f);
                rgb[p * 3 + c] = (byte) Math.max(0, Math.min(255, v));
            }
        }
        return new RgbImage(w, h, rgb);
    }
}
