package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;

/** CLIP text encoder: token ids in, {@code last_hidden_state} out. */
public interface TextEncoder extends AutoCloseable {

    /**
     * Encodes one prompt.
     *
     * @param tokenIds the padded token ids of one prompt (length {@link #sequenceLength()})
     * @return the last hidden state (after the final LayerNorm), shape (1, sequence, hidden)
     */
    FloatTensor encode(int[] tokenIds);

    /** Width of the embeddings; the UNet's cross-attention width must match it. */
    int hiddenSize();

    /** Number of token positions the encoder takes (77 for CLIP). */
    default int sequenceLength() {
        return 77;
    }

    /**
     * Rows of the embedding {@link #encode} returns, the UNet's sequence length: the token
     * positions, or for SDXL one more (the pooled embedding, see {@link SdxlConditioning}).
     */
    default int embeddingLength() {
        return sequenceLength();
    }

    /**
     * Whether an empty negative prompt is a zero embedding rather than the encoded empty text
     * (diffusers' SDXL {@code force_zeros_for_empty_prompt}).
     */
    default boolean zerosForEmptyNegativePrompt() {
        return false;
    }

    @Override
    void close();
}
