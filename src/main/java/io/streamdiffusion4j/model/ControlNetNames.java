package io.streamdiffusion4j.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The input and output names of the ControlNet graphs and of a UNet graph with control inputs:
 * the one place both the converter (which names them) and the pipeline (which feeds and reads
 * them) take them from.
 *
 * <p>A converted ControlNet ({@code model.onnx} + diffusers {@code config.json}) takes
 * {@link #SAMPLE} float32 (B, C, h, w), {@link #TIMESTEP} int64 (B, or 1 for every row, as the
 * UNet), {@link #ENCODER_HIDDEN_STATES} float32 (B, S, D), {@link #CONTROLNET_COND} float32
 * (B, 3, H, W) in [0, 1] with H = 8h for SD (as diffusers' pipeline feeds it), and
 * {@link #CONDITIONING_SCALE} float32 [1]; it gives {@link #downResidual}(0 .. N-1) and
 * {@link #MID_RESIDUAL}, already multiplied by the scale (diffusers' ControlNetModel.forward,
 * guess_mode off). N is 12 for the SD 1.5 / 2.1 layouts: conv_in, one per down-block resnet,
 * one per downsampler.
 *
 * <p>A UNet with control inputs takes the plain UNet's inputs plus the same N + 1 names, float32,
 * added where diffusers' UNet2DConditionModel adds {@code down_block_additional_residuals} and
 * {@code mid_block_additional_residual}. Several ControlNets are summed before the UNet.
 */
public final class ControlNetNames {
    public static final String SAMPLE = "sample";
    public static final String TIMESTEP = "timestep";
    public static final String ENCODER_HIDDEN_STATES = "encoder_hidden_states";
    public static final String CONTROLNET_COND = "controlnet_cond";
    public static final String CONDITIONING_SCALE = "conditioning_scale";
    public static final String DOWN_RESIDUAL_PREFIX = "down_block_res_";
    public static final String MID_RESIDUAL = "mid_block_res";
    /** Down residuals of the SD 1.x / 2.x UNet layouts (conv_in, then 3 per down block, 2 in the last). */
    public static final int SD_DOWN_RESIDUALS = 12;

    private ControlNetNames() {}

    /** The name of down residual {@code i} (0 is conv_in's output, the shallowest). */
    public static String downResidual(int i) {
        return DOWN_RESIDUAL_PREFIX + i;
    }

    /** The down residual names 0 .. count-1, in order. */
    public static List<String> downResiduals(int count) {
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) out.add(downResidual(i));
        return out;
    }

    /** Every residual name: the down residuals in order, then the mid one. */
    public static List<String> residuals(int downCount) {
        List<String> out = downResiduals(downCount);
        out.add(MID_RESIDUAL);
        return out;
    }

    /** How many down residuals a graph with these input (or output) names has: the run 0, 1, ... present. */
    public static int downResidualCount(java.util.Collection<String> names) {
        int n = 0;
        while (names.contains(downResidual(n))) n++;
        return n;
    }

    /**
     * The residual names among a graph's input (or output) {@code names} in the UNet's order:
     * {@code down_block_res_0..N-1} then {@code mid_block_res}; empty when there are none. Gaps in
     * the numbering or a missing middle residual are errors (IllegalArgumentException naming
     * {@code where}), as they would silently drop a skip connection's control.
     */
    public static List<String> residualsIn(java.util.Collection<String> names, String where) {
        int n = downResidualCount(names);
        long prefixed = names.stream().filter(s -> s.startsWith(DOWN_RESIDUAL_PREFIX)).count();
        boolean mid = names.contains(MID_RESIDUAL);
        if (n == 0 && prefixed == 0 && !mid) return List.of();
        if (prefixed != n || !mid || n == 0) {
            throw new IllegalArgumentException(where + ": ControlNet residuals must be " + DOWN_RESIDUAL_PREFIX + "0.."
                    + DOWN_RESIDUAL_PREFIX + "N-1 and " + MID_RESIDUAL + ", found "
                    + names.stream().filter(s -> s.startsWith(DOWN_RESIDUAL_PREFIX) || s.equals(MID_RESIDUAL)).sorted().toList());
        }
        return residuals(n);
    }
}
