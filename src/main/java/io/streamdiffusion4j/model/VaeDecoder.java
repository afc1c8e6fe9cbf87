package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/** Latent to image: unscaled latents (rows, C, h, w) to images (rows, 3, H, W), roughly in [-1, 1]. */
public interface VaeDecoder extends AutoCloseable {

    FloatTensor decode(FloatTensor latents);

    @Override
    void close();
}
