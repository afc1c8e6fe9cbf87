package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.ImageEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * A stream's IP-Adapter state: the style image's tokens (encoded once per image) and the scale.
 * It lays out what the adapter's UNet takes after each row's prompt embedding: the image tokens
 * (the unconditional rows get the zero embedding's tokens, as diffusers does for classifier-free
 * guidance) and a scale row (the scale, then zeros). Without a style image every row gets the
 * unconditional tokens at scale 0, which adds exact zeros: the plain stream's numbers.
 */
public final class IpAdapterStyle implements AutoCloseable {
    /** A generous bound: diffusers' examples use 0..1; beyond a few the adapter only destroys the picture. */
    public static final double MAX_SCALE = 10.0;

    private final ImageEncoder encoder;
    private FloatTensor tokens;
    private double scale;

    public IpAdapterStyle(ImageEncoder encoder, double scale) {
        this.encoder = encoder;
        setScale(scale);
    }

    /** Encodes the style image (null: no style image). */
    public void setImage(RgbImage image) {
        setTokens(image == null ? null : encoder.encode(image));
    }

    /**
     * Takes a style image's tokens encoded elsewhere by this adapter's encoder (null: no style
     * image), e.g. off the thread that runs the stream; shape (1, tokens, crossAttentionDim).
     */
    public void setTokens(FloatTensor t) {
        if (t != null && (t.shape().length != 3 || t.dim(0) != 1 || t.dim(1) != encoder.tokens()
                || t.dim(2) != encoder.crossAttentionDim())) {
            throw new IllegalArgumentException("style tokens of shape " + java.util.Arrays.toString(t.shape()) + ", the adapter takes [1, "
                    + encoder.tokens() + ", " + encoder.crossAttentionDim() + "]");
        }
        tokens = t;
    }

    /** The encoder that makes the style image's tokens (closed with this). */
    public ImageEncoder encoder() {
        return encoder;
    }

    public boolean hasImage() {
        return tokens != null;
    }

    public void setScale(double v) {
        if (!Double.isFinite(v) || v < 0 || v > MAX_SCALE) {
            throw new IllegalArgumentException("ip_adapter_scale must be between 0 and " + MAX_SCALE + ", found " + v);
        }
        scale = v;
    }

    public double scale() {
        return scale;
    }

    /** How many rows {@link #extend} appends to each prompt embedding: the image tokens and the scale row. */
    public int appendedRows() {
        return encoder.tokens() + 1;
    }

    /**
     * The adapter UNet's embeddings: each row of {@code conditioning} (rows, L, D) followed by its
     * tokens and the scale row; the last {@code positiveRows} rows are the prompt's, the rows before
     * them unconditional.
     */
    public FloatTensor extend(FloatTensor conditioning, int positiveRows) {
        int rows = conditioning.dim(0);
        int length = conditioning.dim(1);
        int dim = conditioning.dim(2);
        if (dim != encoder.crossAttentionDim()) {
            throw new IllegalArgumentException("prompt embeddings of width " + dim + ", the IP-Adapter's tokens are "
                    + encoder.crossAttentionDim() + " wide");
        }
        int n = encoder.tokens();
        int extended = length + n + 1;
        float[] out = new float[rows * extended * dim];
        float[] src = conditioning.data();
        float[] negative = encoder.negativeTokens().data();
        float[] positive = tokens == null ? negative : tokens.data();
        float rowScale = tokens == null ? 0f : (float) scale;
        for (int r = 0; r < rows; r++) {
            int at = r * extended * dim;
            System.arraycopy(src, r * length * dim, out, at, length * dim);
            boolean conditional = r >= rows - positiveRows;
            System.arraycopy(conditional ? positive : negative, 0, out, at + length * dim, n * dim);
            out[at + (length + n) * dim] = rowScale;
        }
        return new FloatTensor(out, rows, extended, dim);
    }

    @Override
    public void close() {
        encoder.close();
    }
}
