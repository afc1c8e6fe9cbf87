package io.streamdiffusion4j.model;

/** Text to the fixed-length token ids the text encoder takes (start, text, end, padding). */
public interface Tokenizer {

    int[] encode(String text);
}
