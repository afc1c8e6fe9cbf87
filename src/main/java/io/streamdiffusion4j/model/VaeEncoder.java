package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/** Image to latent: images (rows, 3, H, W) in [-1, 1] to the latent posterior (unscaled). */
public interface VaeEncoder extends AutoCloseable {

    LatentDistribution encode(FloatTensor images);

    /**
     * {@link #encode} written into reused arrays: the mean always, the standard deviation when
     * the encoder is variational. Returns true when {@code std} was written. The default copies.
     */
    default boolean encodeInto(FloatTensor images, float[] mean, float[] std) {
        LatentDistribution d = encode(images);
        System.arraycopy(d.mean().data(), 0, mean, 0, mean.length);
        if (d.isDeterministic()) return false;
        System.arraycopy(d.std().data(), 0, std, 0, std.length);
        return true;
    }

    @Override
    void close();
}
