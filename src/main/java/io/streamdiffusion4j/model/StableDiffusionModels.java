package io.streamdiffusion4j.model;

import io.streamdiffusion4j.scheduler.SchedulerConfig;

/**
 * The loaded parts of a Stable Diffusion pipeline, behind narrow interfaces: whatever runs
 * them (ONNX Runtime, or a stand-in in tests) stays out of the pipeline math. Closing closes
 * every part.
 */
public record StableDiffusionModels(
        Tokenizer tokenizer,
        TextEncoder textEncoder,
        Unet unet,
        Vae vae,
        SchedulerConfig schedulerConfig,
        String description) implements AutoCloseable {

    public StableDiffusionModels {
        if (textEncoder.hiddenSize() != unet.crossAttentionDim()) {
            throw new IllegalArgumentException("inconsistent models (" + description + "): the text encoder's hidden size is "
                    + textEncoder.hiddenSize() + " but the UNet's cross-attention width is " + unet.crossAttentionDim());
        }
        if (vae.latentChannels() != unet.latentChannels()) {
            throw new IllegalArgumentException("inconsistent models (" + description + "): the VAE '" + vae.name() + "' has "
                    + vae.latentChannels() + " latent channels but the UNet takes " + unet.latentChannels());
        }
    }

    /**
     * The same parts with {@code other} as the UNet (a decorator, such as cross-session batching).
     * Both records close the same parts: close only one of them.
     */
    public StableDiffusionModels withUnet(Unet other) {
        return new StableDiffusionModels(tokenizer, textEncoder, other, vae, schedulerConfig, description);
    }

    @Override
    public void close() {
        try (TextEncoder t = textEncoder; Unet u = unet; Vae v = vae) {
            // try-with-resources closes all three, even if one throws
        }
    }
}
