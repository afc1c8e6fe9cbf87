package io.streamdiffusion4j.batching;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.time.Duration;

/**
 * Shared models whose UNet, VAE encoder and VAE decoder stack the calls of the streams built on
 * them ({@link BatchingUnet}, {@link BatchingVae}), all with one gather window. Build every
 * session's stream on {@link #models()}; close this before the wrapped models (it does not own them).
 */
public record CrossSessionBatching(StableDiffusionModels models, BatchingUnet unet, BatchingVae vae) implements AutoCloseable {

    public static CrossSessionBatching of(StableDiffusionModels shared, Duration window) {
        BatchingUnet unet = new BatchingUnet(shared.unet(), window);
        BatchingVae vae = new BatchingVae(shared.vae(), window);
        StableDiffusionModels models = new StableDiffusionModels(shared.tokenizer(), shared.textEncoder(), unet, vae.vae(),
                shared.schedulerConfig(), shared.description());
        return new CrossSessionBatching(models, unet, vae);
    }

    @Override
    public void close() {
        unet.close();
    }
}
