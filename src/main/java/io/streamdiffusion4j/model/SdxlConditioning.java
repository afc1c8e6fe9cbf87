package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * How Stable Diffusion XL's extra conditioning travels through the pipeline. Besides the prompt's
 * token embeddings (77 x 2048), SDXL's UNet takes the pooled prompt embedding ({@code text_embeds},
 * 1280) and six micro-conditioning numbers ({@code time_ids}). The pooled embedding belongs to the
 * prompt, so it rides with the token embeddings as one more row: the prompt embedding of an SDXL
 * model is {@code (1, 77 + 1, 2048)}, its last row the pooled embedding followed by zeros. Every
 * part of the pipeline that handles prompt embeddings (the per-text cache, prompt blends, the
 * repetition per Stream Batch row, the negative rows of classifier-free guidance, live prompt
 * changes) then handles the pooled embedding with them, row for row, without knowing about it;
 * blending is per token row, so the pooled row blends as the pooled embedding itself would.
 *
 * <p>The time ids are diffusers' defaults, {@code (height, width, 0, 0, height, width)} in pixels
 * (original size = target size = the output size, no crop; {@code _get_add_time_ids} in
 * {@code pipeline_stable_diffusion_xl.py}), so they follow from the latent size: the UNet computes
 * them from its sample's shape ({@code io.streamdiffusion4j.onnx.SdxlUnetInputs}), once per stream
 * configuration with the rest of the pre-computed conditioning.
 */
public final class SdxlConditioning {
    /** Token rows of the prompt embedding before the pooled row. */
    public static final int TOKENS = 77;
    /** Pixels per latent (the VAE's 2^3 downsampling), to turn the latent size into time ids. */
    public static final int PIXELS_PER_LATENT = 8;

    private SdxlConditioning() {}

    /**
     * The packed prompt embedding: {@code hidden} (1, L, D) with one row appended holding
     * {@code pooled} (P <= D values) and then zeros.
     */
    public static FloatTensor pack(FloatTensor hidden, float[] pooled) {
        if (hidden.rank() != 3 || hidden.dim(0) != 1) throw new IllegalArgumentException("expected one prompt (1, L, D), found " + hidden);
        int length = hidden.dim(1);
        int width = hidden.dim(2);
        if (pooled.length > width) {
            throw new IllegalArgumentException("the pooled embedding (" + pooled.length + ") is wider than the token embeddings ("
                    + width + ")");
        }
        float[] out = new float[(length + 1) * width];
        System.arraycopy(hidden.data(), 0, out, 0, length * width);
        System.arraycopy(pooled, 0, out, length * width, pooled.length);
        return new FloatTensor(out, 1, length + 1, width);
    }

    /** The pooled embedding in a packed prompt embedding's last row ({@code width} values). */
    public static float[] pooled(FloatTensor packed, int width) {
        int length = packed.dim(1);
        float[] out = new float[width];
        System.arraycopy(packed.data(), (length - 1) * packed.dim(2), out, 0, width);
        return out;
    }
}
