package io.streamdiffusion4j.image;

import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;

/**
 * Frames to the model's input tensor, as diffusers' {@code VaeImageProcessor.preprocess} does
 * for PIL images in the original: resize to the configured size with Pillow's Lanczos filter
 * (skipped when the size already matches), scale to [0, 1] by /255, then to [-1, 1] by 2x - 1,
 * channels first. All in float32 with the same operation order, so the tensors match bit for bit.
 */
public final class ImagePreprocessor {
    private final int width;
    private final int height;

    public ImagePreprocessor(int width, int height) {
        this.width = width;
        this.height = height;
    }

    /** A batch (frames, 3, height, width) in [-1, 1]. */
    public FloatTensor toTensor(List<RgbImage> frames) {
        int plane = width * height;
        float[] out = new float[frames.size() * 3 * plane];
        for (int f = 0; f < frames.size(); f++) {
            RgbImage img = fit(frames.get(f));
            byte[] rgb = img.rgb();
            int base = f * 3 * plane;
            for (int p = 0; p < plane; p++) {
                for (int c = 0; c < 3; c++) {
                    float unit = (rgb[p * 3 + c] & 0xff) / 255f;
                    out[base + c * plane + p] = 2f * unit - 1f;
                }
            }
        }
        return new FloatTensor(out, frames.size(), 3, height, width);
    }

    public FloatTensor toTensor(RgbImage frame) {
        return toTensor(List.of(frame));
    }

    /** The frame at the configured size (Pillow Lanczos, as {@code VaeImageProcessor.resize}). */
    public RgbImage fit(RgbImage img) {
        if (img.width() == width && img.height() == height) return img;
        return PillowResize.resize(img, width, height, PillowResize.Filter.LANCZOS);
    }
}
