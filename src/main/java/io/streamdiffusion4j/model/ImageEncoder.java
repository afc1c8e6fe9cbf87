package io.streamdiffusion4j.model;

import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * An IP-Adapter's image side: a style image to the tokens its decoupled cross-attention attends
 * to (CLIP vision encoder, then the adapter's image projection).
 */
public interface ImageEncoder extends AutoCloseable {

    /** The tokens of one image, shape (1, tokens, crossAttentionDim). */
    FloatTensor encode(RgbImage image);

    /** The tokens of the zero image embedding, (1, tokens, crossAttentionDim): the unconditional rows' (as diffusers). */
    FloatTensor negativeTokens();

    int tokens();

    int crossAttentionDim();

    @Override
    void close();
}
