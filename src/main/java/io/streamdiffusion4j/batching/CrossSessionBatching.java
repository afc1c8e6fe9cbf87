package io.streamdiffusion4j.batching;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.time.Duration;

/**
 * Shared models whose UNet, VAE encoder and VAE decoder stack the calls of the streams built on
 * them ({@link BatchingUnet}, {@link BatchingVae}), all in one {@link GatherGroup}: one gather
 * window, and no gather waits for a stream that waits in another (the group's comment says why
 * that rules out streams a stage apart stalling each other). Build every session's stream on
 * {@link #models()}; close this before the wrapped models (it does not own them).
 */
public record CrossSessionBatching(StableDiffusionModels models, BatchingUnet unet, BatchingVae vae) implements AutoCloseable {

    public static CrossSessionBatching of(StableDiffusionModels shared, Duration window) {
        GatherGroup group = new GatherGroup(window);
        BatchingUnet unet = new BatchingUnet(shared.unet(), group);
        BatchingVae vae = new BatchingVae(shared.vae(), group);
        StableDiffusionModels models = new StableDiffusionModels(shared.tokenizer(), shared.textEncoder(), unet, vae.vae(),
                shared.schedulerConfig(), shared.description());
        return new CrossSessionBatching(models, unet, vae);
    }

    public Duration window() {
        return unet.window();
    }

    @Override
    public void close() {
        unet.close();
    }
}
