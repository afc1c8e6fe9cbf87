package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * The denoising UNet as the stream uses it: every row of the batch has its own timestep, so
 * one call denoises several frames at several steps (Stream Batch).
 */
public interface Unet extends AutoCloseable {

    /**
     * Predicts the noise (epsilon) of each row.
     *
     * @param sample noisy latents, shape (rows, channels, h, w)
     * @param timesteps one timestep per row
     * @param encoderHiddenStates prompt embeddings, shape (rows, sequence, crossAttentionDim)
     * @return epsilon, same shape as {@code sample}
     */
    FloatTensor predictNoise(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates);

    int latentChannels();

    int crossAttentionDim();

    @Override
    void close();
}
