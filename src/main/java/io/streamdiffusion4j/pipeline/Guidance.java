package io.streamdiffusion4j.pipeline;

/**
 * Guidance strength: {@code guidance_scale} (g) and the RCFG {@code delta} (the weight of the
 * virtual negative). As in the original, guidance only acts when g > 1 and the mode is not
 * {@link CfgType#NONE}; with {@code none} the scale is forced to 1.
 */
public record Guidance(CfgType type, float scale, float delta) {

    public static Guidance of(CfgType type, double scale, double delta) {
        if (!Double.isFinite(scale)) throw new IllegalArgumentException("guidance_scale must be finite, found " + scale);
        if (!Double.isFinite(delta)) throw new IllegalArgumentException("delta must be finite, found " + delta);
        return new Guidance(type, type == CfgType.NONE ? 1.0f : (float) scale, (float) delta);
    }

    /** True when this frame's noise prediction is guided (g > 1 and a mode other than none). */
    public boolean active() {
        return scale > 1.0f && type != CfgType.NONE;
    }

    /** True when the UNet batch carries real negative-prompt rows (full or initialize, g > 1). */
    public boolean hasNegativeRows() {
        return active() && (type == CfgType.FULL || type == CfgType.INITIALIZE);
    }
}
