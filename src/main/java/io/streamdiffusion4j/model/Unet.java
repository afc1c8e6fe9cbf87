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

    /**
     * {@link #predictNoise} written into {@code eps} (as many values as {@code sample}), so a
     * stream can reuse one array across frames. Implementations that can write in place (ONNX
     * Runtime with pinned outputs) override this; the default copies.
     */
    default void predictNoiseInto(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates, float[] eps) {
        float[] out = predictNoise(sample, timesteps, encoderHiddenStates).data();
        if (out.length != eps.length) {
            throw new IllegalArgumentException("the UNet returned " + out.length + " values, expected " + eps.length);
        }
        System.arraycopy(out, 0, eps, 0, out.length);
    }

    int latentChannels();

    int crossAttentionDim();

    @Override
    void close();
}
