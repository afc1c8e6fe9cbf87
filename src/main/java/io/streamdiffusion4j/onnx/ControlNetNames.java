package io.streamdiffusion4j.onnx;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The one home of the ONNX input and output names that ControlNet graphs and UNet graphs with
 * residual inputs share (the contract between the converter and the pipeline): a ControlNet takes
 * {@code sample, timestep, encoder_hidden_states, controlnet_cond} (float32 (B, 3, H, W) in [0, 1])
 * and {@code conditioning_scale} (float32 [1]) and gives {@code down_block_res_0..N-1} and
 * {@code mid_block_res}, already scaled; a UNet with control takes the plain UNet's inputs plus
 * those residuals under the same names.
 */
public final class ControlNetNames {
    public static final String SAMPLE = "sample";
    public static final String TIMESTEP = "timestep";
    public static final String HIDDEN_STATES = "encoder_hidden_states";
    public static final String CONTROL_IMAGE = "controlnet_cond";
    public static final String SCALE = "conditioning_scale";
    public static final String DOWN_PREFIX = "down_block_res_";
    public static final String MID = "mid_block_res";
    /** Down-block residuals of the SD 1.x / 2.x UNet layouts (conv_in, then 3 per down block, 2 in the last). */
    public static final int SD_DOWN_RESIDUALS = 12;

    private ControlNetNames() {}

    public static String down(int i) {
        return DOWN_PREFIX + i;
    }

    /**
     * The residual names among {@code names} in the UNet's order: {@code down_block_res_0..N-1}
     * then {@code mid_block_res}; empty when there are none. Gaps in the numbering or a missing
     * middle residual are errors, as they would silently drop a skip connection's control.
     */
    public static List<String> residuals(Collection<String> names, String where) throws InvalidModelException {
        int n = 0;
        while (names.contains(down(n))) n++;
        long prefixed = names.stream().filter(s -> s.startsWith(DOWN_PREFIX)).count();
        boolean mid = names.contains(MID);
        if (n == 0 && prefixed == 0 && !mid) return List.of();
        if (prefixed != n || !mid || n == 0) {
            throw new InvalidModelException(where + ": ControlNet residuals must be " + DOWN_PREFIX + "0.." + DOWN_PREFIX
                    + "N-1 and " + MID + ", found " + names.stream().filter(s -> s.startsWith(DOWN_PREFIX) || s.equals(MID)).sorted().toList());
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(down(i));
        out.add(MID);
        return out;
    }
}
