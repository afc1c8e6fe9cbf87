package io.streamdiffusion4j.image;

import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * transformers' {@code CLIPImageProcessor} defaults (what diffusers' IP-Adapter pipelines feed the
 * image encoder): resize so the shorter side is {@code size} (bicubic, Pillow's filter), centre crop to
 * size x size, scale to [0, 1], normalise with OpenAI CLIP's mean and std; (1, 3, size, size).
 */
public final class ClipImageProcessor {
    private static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    private static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private ClipImageProcessor() {}

    public static FloatTensor pixelValues(RgbImage image, int size) {
        int w = image.width();
        int h = image.height();
        // shortest edge to size, the other scaled as transformers' get_resize_output_image_size does (int of the product)
        int rw = w <= h ? size : (int) ((long) size * w / h);
        int rh = w <= h ? (int) ((long) size * h / w) : size;
        RgbImage resized = rw == w && rh == h ? image : PillowResize.resize(image, rw, rh, PillowResize.Filter.BICUBIC);
        int left = (rw - size) / 2;
        int top = (rh - size) / 2;
        float[] out = new float[3 * size * size];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    float v = resized.get(left + x, top + y, c) / 255f;
                    out[(c * size + y) * size + x] = (v - MEAN[c]) / STD[c];
                }
            }
        }
        return new FloatTensor(out, 1, 3, size, size);
    }
}
