package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/** Latent to image: unscaled latents (rows, C, h, w) to images (rows, 3, H, W), roughly in [-1, 1]. */
public interface VaeDecoder extends AutoCloseable {

    FloatTensor decode(FloatTensor latents);

    /**
     * {@link #decode} written into {@code images} (rows x 3 x H x W values), so a stream can reuse
     * one array; implementations that can write in place override it, the default copies.
     */
    default void decodeInto(FloatTensor latents, float[] images) {
        float[] out = decode(latents).data();
        if (out.length != images.length) {
            throw new IllegalArgumentException("the VAE decoder returned " + out.length + " values, expected " + images.length);
        }
        System.arraycopy(out, 0, images, 0, out.length);
    }

    @Override
    void close();
}
