package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.model.Tokenizer;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Prompt to embedding ({@code encode_prompt} of diffusers): tokenize, pad to 77, take the text
 * encoder's last hidden state. Results are cached per text, so a prompt is encoded once however
 * often the stream comes back to it (the paper's pre-computation).
 */
public final class PromptEncoder {
    private static final int CACHE_SIZE = 64;

    private final Tokenizer tokenizer;
    private final TextEncoder textEncoder;
    private final Map<String, FloatTensor> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, FloatTensor> eldest) {
            return size() > CACHE_SIZE;
        }
    };
    private long encoderCalls;

    public PromptEncoder(Tokenizer tokenizer, TextEncoder textEncoder) {
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
    }

    /** The (1, 77, hidden) embedding of a text; {@code null} counts as the empty prompt. */
    public synchronized FloatTensor encode(String text) {
        String key = text == null ? "" : text;
        FloatTensor hit = cache.get(key);
        if (hit != null) return hit;
        FloatTensor embedding = textEncoder.encode(tokenizer.encode(key));
        encoderCalls++;
        cache.put(key, embedding);
        return embedding;
    }

    /**
     * The embedding of a negative prompt: {@link #encode}, except that an empty one is all zeros
     * for text encoders that say so (SDXL's {@code force_zeros_for_empty_prompt}; diffusers'
     * {@code encode_prompt} zeroes both the token and the pooled embeddings).
     */
    public FloatTensor encodeNegative(String text) {
        FloatTensor encoded = encode(text);
        boolean empty = text == null || text.isEmpty();
        return empty && textEncoder.zerosForEmptyNegativePrompt() ? FloatTensor.zeros(encoded.shape()) : encoded;
    }

    public int[] tokenIds(String text) {
        return tokenizer.encode(text == null ? "" : text);
    }

    /** How many times the text encoder actually ran (cache misses). */
    public synchronized long encoderCalls() {
        return encoderCalls;
    }

    /**
     * The UNet's {@code encoder_hidden_states}, one embedding per UNet row: the prompt for every
     * denoising row, preceded by the negative prompt for every row (cfg full) or for the f
     * new-frame rows (cfg initialize) when guidance is active.
     */
    public static FloatTensor conditioning(FloatTensor positive, FloatTensor negative, Guidance guidance,
                                           int batchSize, int frames) {
        FloatTensor cond = positive.repeatRows(batchSize);
        if (!guidance.hasNegativeRows()) return cond;
        int negativeRows = guidance.type() == CfgType.FULL ? batchSize : frames;
        return FloatTensor.concatRows(negative.repeatRows(negativeRows), cond);
    }
}
