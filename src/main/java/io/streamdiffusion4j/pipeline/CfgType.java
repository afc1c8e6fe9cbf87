package io.streamdiffusion4j.pipeline;

import java.util.Locale;

/**
 * Guidance modes (the paper's Residual Classifier-Free Guidance). With n denoising rows:
 * <ul>
 *   <li>{@link #NONE}: no guidance, n UNet rows;</li>
 *   <li>{@link #FULL}: conventional CFG, a real negative prediction for every row, 2n rows;</li>
 *   <li>{@link #SELF}: RCFG self-negative, the negative is the stock (virtual residual) noise, n rows;</li>
 *   <li>{@link #INITIALIZE}: RCFG onetime-negative, one real negative prediction for the new
 *       frame seeds the stock noise, n + frame_buffer_size rows.</li>
 * </ul>
 */
public enum CfgType {
    NONE("none"),
    FULL("full"),
    SELF("self"),
    INITIALIZE("initialize");

    private final String key;

    CfgType(String key) {
        this.key = key;
    }

    /** The name used in configuration files, as in the original ("none", "full", "self", "initialize"). */
    public String key() {
        return key;
    }

    /** True for the two RCFG modes that keep a stock noise. */
    public boolean usesStockNoise() {
        return this == SELF || this == INITIALIZE;
    }

    public static CfgType parse(String value) {
        for (CfgType t : values()) {
            if (t.key.equals(value)) return t;
        }
        throw new IllegalArgumentException("unknown cfg_type '" + value
                + "'; expected one of none, full, self, initialize");
    }

    @Override
    public String toString() {
        return key.toLowerCase(Locale.ROOT);
    }
}
