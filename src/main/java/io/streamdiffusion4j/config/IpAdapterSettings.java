package io.streamdiffusion4j.config;

import io.streamdiffusion4j.pipeline.IpAdapterStyle;

/**
 * A run's IP-Adapter, from the run config's {@code ip_adapter} (folder, .safetensors file or Hub id),
 * {@code ip_adapter_scale} (default 1, in [0, {@link IpAdapterStyle#MAX_SCALE}]) and
 * {@code style_image} (optional) keys, or the CLI's {@code --ip-adapter DIR|FILE|ID[:SCALE]} / {@code --style-image}.
 * Paths are as written (relative ones to the working folder).
 *
 * @param styleImage null when the run starts without a style image
 */
public record IpAdapterSettings(String adapter, double scale, String styleImage) {
    public IpAdapterSettings {
        if (adapter == null || adapter.isBlank()) throw new IllegalArgumentException("ip_adapter must name a folder, a file or a Hub id");
        if (!Double.isFinite(scale) || scale < 0 || scale > IpAdapterStyle.MAX_SCALE) {
            throw new IllegalArgumentException("ip_adapter_scale must be between 0 and " + IpAdapterStyle.MAX_SCALE + ", found " + scale);
        }
    }
}
