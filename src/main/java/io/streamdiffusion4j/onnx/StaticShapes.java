package io.streamdiffusion4j.onnx;

/**
 * The fixed sizes of one pipeline configuration, so every session can be loaded with static
 * shapes (ONNX Runtime's symbolic-dimension overrides): shape inference then resolves the whole
 * graph once, constant folding and the memory planner see concrete sizes, and TensorRT gets one
 * exact optimisation profile. A session loaded this way accepts only these shapes.
 *
 * @param unetRows rows of every UNet call (denoising rows plus guidance rows)
 * @param encoderRows images per VAE encoder call (frame_buffer_size)
 * @param decoderRows latents per VAE decoder call (frame_buffer_size; every batch row for the
 *     sd-turbo txt2img path)
 * @param width image width in pixels (latents are width / 8)
 * @param height image height in pixels
 */
public record StaticShapes(int unetRows, int encoderRows, int decoderRows, int width, int height) {
    /** Token positions of the CLIP text encoder. */
    static final int TEXT_SEQUENCE = 77;
    /** Pixels per latent cell of the Stable Diffusion autoencoders (AutoencoderKL and TAESD alike). */
    static final int VAE_FACTOR = 8;

    public StaticShapes {
        if (unetRows < 1 || encoderRows < 1 || decoderRows < 1) {
            throw new IllegalArgumentException("static shapes need at least one row per call, found UNet " + unetRows
                    + ", encoder " + encoderRows + ", decoder " + decoderRows);
        }
        if (width <= 0 || width % VAE_FACTOR != 0 || height <= 0 || height % VAE_FACTOR != 0) {
            throw new IllegalArgumentException("static shapes need a size in multiples of 8, found " + width + "x" + height);
        }
    }

    int latentWidth() {
        return width / VAE_FACTOR;
    }

    int latentHeight() {
        return height / VAE_FACTOR;
    }

    @Override
    public String toString() {
        return width + "x" + height + ", UNet " + unetRows + " row(s), encoder " + encoderRows + ", decoder " + decoderRows;
    }
}
