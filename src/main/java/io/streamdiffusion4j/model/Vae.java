package io.streamdiffusion4j.model;

/**
 * An autoencoder pair with its latent scaling factor (0.18215 for the SD AutoencoderKL, 1.0 for
 * TAESD): latents the UNet sees are {@code encoder latents * scalingFactor}.
 */
public record Vae(VaeEncoder encoder, VaeDecoder decoder, float scalingFactor, int latentChannels, String name)
        implements AutoCloseable {

    @Override
    public void close() {
        try {
            encoder.close();
        } finally {
            decoder.close();
        }
    }
}
