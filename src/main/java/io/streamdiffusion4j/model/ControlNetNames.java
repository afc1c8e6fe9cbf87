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
}
