package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.model.ControlNetNames;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.weights.WeightSource;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code ControlNetModel} (SD 1.x / 2.x layouts) as an ONNX graph, with the names of
 * {@link ControlNetNames}: the UNet's encoder (time embedding, conv_in, down blocks, mid block,
 * built by {@link UnetGraph}'s own methods from the same module names) with the conditioning
 * image's embedding added after conv_in, and a 1x1 "zero" conv on every down-block output and on
 * the mid-block output, each multiplied by {@code conditioning_scale} (ControlNetModel.forward,
 * guess_mode off, global_pool_conditions off). Inputs and outputs are float32 even for half graphs.
 */
public final class ControlNetGraph {
    private final OnnxGraph g;
    private final Layers nn;
    private final ControlNetConfig c;
    private final UnetGraph encoder;

    private ControlNetGraph(OnnxGraph g, WeightSource weights, ControlNetConfig c) {
        this.g = g;
        this.nn = new Layers(g, weights);
        this.c = c;
        this.encoder = new UnetGraph(g, weights, c.unet());
    }

    public static OnnxGraph build(WeightSource weights, ControlNetConfig config, boolean half) {
        OnnxGraph g = new OnnxGraph("controlnet", half);
        new ControlNetGraph(g, weights, config).forward();
        return g;
    }

    /** {@code ControlNetModel.forward}. */
    private void forward() {
        UnetConfig u = c.unet();
        Value sample = g.floatInput(ControlNetNames.SAMPLE, "batch_size", "num_channels", "height", "width");
        Value timestep = g.input(ControlNetNames.TIMESTEP, TensorProto.DataType.INT64_VALUE, "steps");
        Value context = g.floatInput(ControlNetNames.ENCODER_HIDDEN_STATES, "batch_size", "sequence_length", u.crossAttentionDim());
        Value cond = g.floatInput(ControlNetNames.CONTROLNET_COND, "batch_size", c.conditioningChannels(), "image_height", "image_width");
        Value scale = g.floatInput(ControlNetNames.CONDITIONING_SCALE, 1);

        // torch.flip(controlnet_cond, dims=[1]) for a BGR model: callers always give RGB
        if (c.bgr()) cond = g.op("Gather", List.of(cond, g.longs(2, 1, 0)), attr("axis", 1L));

        // 1. time, as the UNet (ControlNetModel has no center_input_sample)
        Value tEmb = encoder.timeProj(timestep, sample);
        if (g.isHalf()) tEmb = g.cast(tEmb, g.floatType());
        encoder.tembAct = nn.silu(encoder.timeEmbedding(tEmb));
        encoder.context = context;

        // 2. pre-process: conv_in (kernel 3, fixed in ControlNetModel) plus the conditioning embedding
        Value x = nn.conv2d(sample, "conv_in", 1, 1);
        x = nn.add(x, conditioningEmbedding(cond));

        // 3. down, 4. mid
        List<Value> skips = new ArrayList<>();
        skips.add(x);
        for (int i = 0; i < u.blockCount(); i++) x = encoder.downBlock(x, i, skips);
        x = encoder.midBlock(x);

        // 5. zero convs, 6. scaling
        if (skips.size() != c.downResidualCount()) {
            throw new IllegalStateException(skips.size() + " down outputs, expected " + c.downResidualCount());
        }
        for (int k = 0; k < skips.size(); k++) {
            Value r = nn.mul(nn.conv2d(skips.get(k), "controlnet_down_blocks." + k, 1, 0), scale);
            g.floatOutput(ControlNetNames.downResidual(k), r, "batch_size", c.downResidualChannels()[k],
                    "height_" + k, "width_" + k);
        }
        Value mid = nn.mul(nn.conv2d(x, "controlnet_mid_block", 1, 0), scale);
        int[] ch = u.blockOutChannels();
        g.floatOutput(ControlNetNames.MID_RESIDUAL, mid, "batch_size", ch[ch.length - 1], "height_mid", "width_mid");
    }

    /**
     * {@code ControlNetConditioningEmbedding}: conv_in, silu, then per stage a 3x3 conv and a
     * stride-2 3x3 conv, each followed by silu, and conv_out (zero-initialised in training).
     */
    private Value conditioningEmbedding(Value cond) {
        String p = "controlnet_cond_embedding";
        Value e = nn.silu(nn.conv2d(cond, p + ".conv_in", 1, 1));
        int stages = c.conditioningEmbeddingOutChannels().length - 1;
        for (int i = 0; i < stages; i++) {
            e = nn.silu(nn.conv2d(e, p + ".blocks." + (2 * i), 1, 1));
            e = nn.silu(nn.conv2d(e, p + ".blocks." + (2 * i + 1), 2, 1));
        }
        return nn.conv2d(e, p + ".conv_out", 1, 1);
    }
}
