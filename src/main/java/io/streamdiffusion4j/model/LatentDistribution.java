package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * What a VAE encoder gives for a batch of images: the mean of the latent posterior and, for a
 * variational encoder (AutoencoderKL), its standard deviation. The pipeline draws the sample
 * {@code mean + std * noise} itself from its seeded generator, as the original does, so runs
 * are deterministic. Deterministic encoders (TAESD) have no {@code std}.
 */
public record LatentDistribution(FloatTensor mean, FloatTensor std) {

    public static LatentDistribution deterministic(FloatTensor latents) {
        return new LatentDistribution(latents, null);
    }

    public boolean isDeterministic() {
        return std == null;
    }
}
