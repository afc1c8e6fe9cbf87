package io.streamdiffusion4j.pipeline;

import java.util.Locale;

/** How the embeddings of a prompt blend (and of a prompt transition) are combined. */
public enum Interpolation {
    /** Weighted sum of the embeddings with the weights normalized to sum 1. */
    LINEAR("linear"),
    /**
     * Spherical interpolation of each token vector (see {@link Blending#slerp}); for more than
     * two prompts applied pairwise in order with cumulative weights.
     */
    SLERP("slerp");

    private final String key;

    Interpolation(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    /** "linear" or "slerp" (any case); anything else is an error that lists both. */
    public static Interpolation parse(String s) {
        String k = s == null ? "" : s.strip().toLowerCase(Locale.ROOT);
        for (Interpolation i : values()) if (i.key.equals(k)) return i;
        throw new IllegalArgumentException("interpolation must be \"linear\" or \"slerp\", found \"" + s + "\"");
    }
}
