package io.streamdiffusion4j.text;

import io.streamdiffusion4j.model.Tokenizer;

/**
 * Two tokenizers over one text, for a model with two text encoders (Stable Diffusion XL): the ids
 * of the first followed by the ids of the second. SDXL's tokenizers share CLIP's vocabulary but
 * not their padding ({@code <|endoftext|>} and {@code !}); since the padding token is also split
 * off wherever it appears in the text, the second one's ids can differ inside the text too, so
 * both really run. The text encoder takes the two halves apart.
 */
public final class PairedTokenizer implements Tokenizer {
    private final Tokenizer first;
    private final Tokenizer second;

    public PairedTokenizer(Tokenizer first, Tokenizer second) {
        this.first = first;
        this.second = second;
    }

    @Override
    public int[] encode(String text) {
        int[] a = first.encode(text);
        int[] b = second.encode(text);
        if (a.length != b.length) {
            throw new IllegalStateException("the two tokenizers give " + a.length + " and " + b.length + " ids; they must pad alike");
        }
        int[] out = new int[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
