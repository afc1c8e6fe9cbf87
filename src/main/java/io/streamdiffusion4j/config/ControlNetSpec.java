package io.streamdiffusion4j.config;

import io.streamdiffusion4j.pipeline.LiveSettingsLimits;

/**
 * One ControlNet of a run: where it comes from (a folder, an ONNX file or a Hugging Face Hub id)
 * and its conditioning scale. The one parser of the {@code DIR|ID[:SCALE]} text form, used by
 * {@code --controlnet} and by {@code "controlnets"} entries given as strings.
 *
 * <p>The rule for ':' (paths on Linux and macOS may contain it): the scale follows the
 * <em>last</em> colon, and only when what follows it is a number; otherwise the whole text is the
 * source with scale 1. So {@code models/cn:0.8} has scale 0.8, {@code models/a:b} is a path of
 * scale 1, and a path that itself ends in {@code :NUMBER} (e.g. {@code takes/cut:2}) needs an
 * explicit scale ({@code takes/cut:2:1}). The scale must be in {@link LiveSettingsLimits#CONTROLNET_SCALE}.
 */
public record ControlNetSpec(String source, double scale) {
    public static final double DEFAULT_SCALE = 1.0;

    public ControlNetSpec {
        if (source == null || source.isBlank()) throw new IllegalArgumentException("a ControlNet needs a folder, file or Hub id");
        if (!LiveSettingsLimits.CONTROLNET_SCALE.contains(scale)) {
            throw new IllegalArgumentException("ControlNet '" + source + "': " + LiveSettingsLimits.CONTROLNET_SCALE.name()
                    + " must be in " + LiveSettingsLimits.CONTROLNET_SCALE + ", found " + scale);
        }
    }

    /** Parses {@code DIR|ID[:SCALE]} (see the class comment for the ':' rule). */
    public static ControlNetSpec parse(String entry) {
        if (entry == null || entry.isBlank()) {
            throw new IllegalArgumentException("empty ControlNet entry (expected DIR|ID[:SCALE])");
        }
        String s = entry.strip();
        int colon = s.lastIndexOf(':');
        if (colon > 0) {
            String tail = s.substring(colon + 1).strip();
            if (tail.isEmpty()) {
                throw new IllegalArgumentException("ControlNet entry '" + abbreviate(entry) + "' ends with ':' but gives no scale"
                        + " (expected DIR|ID[:SCALE])");
            }
            if (tail.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?")) {
                return new ControlNetSpec(s.substring(0, colon).strip(), Double.parseDouble(tail));
            }
        }
        return new ControlNetSpec(s, DEFAULT_SCALE);
    }

    /** The text form back ({@code SOURCE:SCALE}), which {@link #parse} reads as this spec. */
    public String text() {
        return source + ":" + scale;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
