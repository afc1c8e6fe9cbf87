package io.streamdiffusion4j.convert;

import java.util.Arrays;
import java.util.Locale;

/**
 * IP-Adapters the project can create with random weights, each for one {@link ModelPreset}:
 * {@code tiny-ip-adapter} (for tests: fits the built-in {@code tiny}), and the full-size
 * {@code sd15-ip-adapter} (h94/IP-Adapter's ip-adapter_sd15 sizes: the OpenCLIP ViT-H/14 image
 * encoder of {@code models/image_encoder}, 4 tokens of 768) and {@code sd-turbo-ip-adapter} (the
 * same encoder and 4 tokens of 1024 for the SD 2.1 UNet; h94 publishes no SD 2.1 adapter, so this one
 * is the SD 1.5 design at SD 2.1's width, for benchmarks only).
 */
public enum IpAdapterPreset {
    TINY("tiny-ip-adapter", ModelPreset.TINY,
            new ClipVisionConfig(32, 64, 24, 2, 2, 3, 32, 8, "gelu", 1e-5), 4),
    SD15("sd15-ip-adapter", ModelPreset.SD15, Encoders.VIT_H, 4),
    SD_TURBO("sd-turbo-ip-adapter", ModelPreset.SD_TURBO, Encoders.VIT_H, 4);

    private final String key;
    private final ModelPreset base;
    private final ClipVisionConfig imageEncoder;
    private final int tokens;

    IpAdapterPreset(String key, ModelPreset base, ClipVisionConfig imageEncoder, int tokens) {
        this.key = key;
        this.base = base;
        this.imageEncoder = imageEncoder;
        this.tokens = tokens;
    }

    public String key() {
        return key;
    }

    /** The model preset whose UNet the adapter fits. */
    public ModelPreset base() {
        return base;
    }

    public ClipVisionConfig imageEncoder() {
        return imageEncoder;
    }

    public int tokens() {
        return tokens;
    }

    public static String names() {
        return String.join(", ", Arrays.stream(values()).map(IpAdapterPreset::key).toList());
    }

    /** The preset of this name, or null when the name is not an IP-Adapter preset. */
    public static IpAdapterPreset find(String s) {
        for (IpAdapterPreset p : values()) if (p.key.equals(s.toLowerCase(Locale.ROOT))) return p;
        return null;
    }

    /** Holder: enum constants cannot read the enum's own static fields. */
    private static final class Encoders {
        /** h94/IP-Adapter models/image_encoder: OpenCLIP ViT-H/14 (laion2B), 632M weights. */
        static final ClipVisionConfig VIT_H = new ClipVisionConfig(1280, 5120, 1024, 16, 32, 3, 224, 14, "gelu", 1e-5);
    }
}
