package io.streamdiffusion4j.pipeline;

/** What a stream generates from: input frames (img2img) or noise only (txt2img). */
public enum Mode {
    IMG2IMG("img2img"),
    TXT2IMG("txt2img");

    private final String key;

    Mode(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    public static Mode parse(String value) {
        for (Mode m : values()) {
            if (m.key.equals(value)) return m;
        }
        throw new IllegalArgumentException("unknown mode '" + value + "'; expected img2img or txt2img");
    }

    @Override
    public String toString() {
        return key;
    }
}
