package io.streamdiffusion4j.bench;

import java.util.EnumSet;
import java.util.Locale;

/** The comparisons the benchmark can run (the paper's experiments, on this project). */
public enum Experiment {
    /** The configured stream: frames/s, latency percentiles, per-stage times, allocation, peak RSS, pipeline overhead. */
    PIPELINE("pipeline"),
    /** The configured stream on sessions with static shapes against dynamic ones. */
    STATIC_SHAPES("static-shapes"),
    /** Stream Batch against the sequential loop, n = 1, 2, 4. */
    STREAM_BATCH("stream-batch"),
    /** RCFG none / self / initialize / full, n = 1..5. */
    RCFG("rcfg"),
    /** The Stochastic Similarity Filter on a still and a moving input. */
    SSF("ssf"),
    /** The naive per-frame img2img baseline against the stream. */
    NAIVE("naive"),
    /** The UNet with its conditioning (cross-attention K/V, time embeddings) pre-computed per prompt against without. */
    PRECOMPUTE("precompute"),
    /** The UNet quantized to int8 against float32: speed ratio and PSNR of the frames (see Int8Quantizer). */
    INT8("int8"),
    /** 1, 2 and 4 concurrent streams on one model, their UNet calls batched across sessions against separate calls. */
    SESSIONS("sessions"),
    /**
     * One ControlNet per frame against the plain stream (needs --controlnet; left out of "all" without one):
     * the plain UNet, the UNet with residual inputs with the ControlNet off, and with it on.
     */
    CONTROLNET("controlnet"),
    /** The stream with an IP-Adapter and a style image against the plain stream (bench --ip-adapter; skipped in "all" without one). */
    IP_ADAPTER("ip-adapter");

    private final String key;

    Experiment(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    /** A comma-separated list of keys, or "all". */
    public static EnumSet<Experiment> parseList(String value) {
        if (value.trim().equalsIgnoreCase("all")) return EnumSet.allOf(Experiment.class);
        EnumSet<Experiment> out = EnumSet.noneOf(Experiment.class);
        for (String part : value.split(",")) {
            String k = part.trim().toLowerCase(Locale.ROOT);
            Experiment found = null;
            for (Experiment e : values()) if (e.key.equals(k)) found = e;
            if (found == null) {
                throw new IllegalArgumentException("unknown experiment '" + part.trim()
                        + "'; expected all or a list of pipeline, static-shapes, stream-batch, rcfg, ssf, naive, precompute, int8,"
                        + " sessions, controlnet, ip-adapter");
            }
            out.add(found);
        }
        return out;
    }
}
