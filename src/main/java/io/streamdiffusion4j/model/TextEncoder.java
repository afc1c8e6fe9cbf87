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

    @Override
    void close();
}
