package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/** Image to latent: images (rows, 3, H, W) in [-1, 1] to the latent posterior (unscaled). */
public interface VaeEncoder extends AutoCloseable {

    LatentDistribution encode(FloatTensor images);

    @Override
    void close();
}
