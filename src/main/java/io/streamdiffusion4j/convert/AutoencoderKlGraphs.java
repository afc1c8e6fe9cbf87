package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.weights.WeightSource;
import java.util.Arrays;
import java.util.List;

/**
 * The Stable Diffusion VAE (diffusers' {@code AutoencoderKL}) as ONNX graphs with the Optimum
 * axis names, the same operations as diffusers 0.24's {@code Encoder}, {@code Decoder},
 * {@code ResnetBlock2D}, {@code Downsample2D}, {@code Upsample2D} and the mid-block
 * {@code Attention}. No scaling factor is applied inside either graph.
 *
 * <p>The encoder returns the latent posterior, not a sample: {@code latent_mean} and
 * {@code latent_std = exp(0.5 * clamp(logvar, -30, 20))} (diffusers'
 * {@code DiagonalGaussianDistribution}), so the pipeline draws {@code mean + std * noise} from its
 * own seeded generator ({@link io.streamdiffusion4j.onnx.OrtVaeEncoder} takes these outputs as
 * the posterior). The decoder maps {@code latent_sample} to {@code sample}.
 *
 * <p>Weights: {@code encoder.*}, {@code decoder.*}, {@code quant_conv.*}, {@code post_quant_conv.*};
 * the mid-block attention may use the current names ({@code to_q, to_k, to_v, to_out.0}) or the
 * legacy ones ({@code query, key, value, proj_attn}).
 */
public final class AutoencoderKlGraphs {
    /** diffusers builds every VAE GroupNorm with eps 1e-6. */
    private static final float EPS = 1e-6f;

    private AutoencoderKlGraphs() {}

    public static OnnxGraph encoder(WeightSource weights, AutoencoderKlConfig c, boolean half) {
        OnnxGraph g = new OnnxGraph("vae_encoder", half);
        Layers nn = new Layers(g, weights);
        int groups = c.normNumGroups();
        int[] blocks = c.blockOutChannels();
        Value x = g.floatInput("sample", "batch_size", "num_channels", "height", "width");
        x = nn.conv2d(x, "encoder.conv_in", 1, 1);
        for (int i = 0; i < blocks.length; i++) {
            String block = "encoder.down_blocks." + i;
            for (int j = 0; j < c.layersPerBlock(); j++) x = resnet(nn, x, block + ".resnets." + j, groups);
            if (i < blocks.length - 1) {
                // Downsample2D with padding 0: F.pad(x, (0, 1, 0, 1)) then a stride-2 convolution
                x = nn.conv2d(x, block + ".downsamplers.0.conv", 2, new int[] {0, 0, 1, 1});
            }
        }
        x = midBlock(nn, x, "encoder.mid_block", c);
        x = nn.silu(nn.groupNorm(x, "encoder.conv_norm_out", groups, EPS));
        x = nn.conv2d(x, "encoder.conv_out", 1, 1);
        String moments = "encoder.conv_out.weight";
        if (c.useQuantConv()) {
            x = nn.conv2d(x, "quant_conv", 1, 0);
            moments = "quant_conv.weight";
        }
        int twice = nn.shape(moments)[0];
        if (twice != 2 * c.latentChannels()) {
            throw new IllegalArgumentException(weights.origin() + ": " + moments + " gives " + twice
                    + " channels, expected mean and log-variance of latent_channels " + c.latentChannels());
        }
        long latent = c.latentChannels();
        Value mean = g.op("Slice", x, g.longs(0), g.longs(latent), g.longs(1));
        Value logvar = g.op("Slice", x, g.longs(latent), g.longs(2 * latent), g.longs(1));
        logvar = g.op("Clip", logvar, g.scalar(-30f), g.scalar(20f));
        Value std = g.op("Exp", g.op("Mul", logvar, g.scalar(0.5f)));
        Object[] dims = {"batch_size", "num_channels_latent", "height_latent", "width_latent"};
        g.floatOutput("latent_mean", mean, dims);
        g.floatOutput("latent_std", std, dims);
        return g;
    }

    public static OnnxGraph decoder(WeightSource weights, AutoencoderKlConfig c, boolean half) {
        OnnxGraph g = new OnnxGraph("vae_decoder", half);
        Layers nn = new Layers(g, weights);
        int groups = c.normNumGroups();
        int[] blocks = c.blockOutChannels();
        Value x = g.floatInput("latent_sample", "batch_size", "num_channels_latent", "height_latent", "width_latent");
        int latentIn = nn.shape(c.usePostQuantConv() ? "post_quant_conv.weight" : "decoder.conv_in.weight")[1];
        if (latentIn != c.latentChannels()) {
            throw new IllegalArgumentException(weights.origin() + ": the decoder takes " + latentIn
                    + " latent channels, the config says latent_channels " + c.latentChannels());
        }
        if (c.usePostQuantConv()) x = nn.conv2d(x, "post_quant_conv", 1, 0);
        x = nn.conv2d(x, "decoder.conv_in", 1, 1);
        x = midBlock(nn, x, "decoder.mid_block", c);
        for (int i = 0; i < blocks.length; i++) {
            String block = "decoder.up_blocks." + i;
            for (int j = 0; j <= c.layersPerBlock(); j++) x = resnet(nn, x, block + ".resnets." + j, groups);
            if (i < blocks.length - 1) {
                // Upsample2D: nearest 2x, then a 3x3 convolution
                x = nn.conv2d(nn.upsampleNearest2x(x), block + ".upsamplers.0.conv", 1, 1);
            }
        }
        x = nn.silu(nn.groupNorm(x, "decoder.conv_norm_out", groups, EPS));
        x = nn.conv2d(x, "decoder.conv_out", 1, 1);
        g.floatOutput("sample", x, "batch_size", "num_channels", "height", "width");
        return g;
    }

    /** {@code UNetMidBlock2D} without time embedding: resnet, attention (unless disabled), resnet. */
    private static Value midBlock(Layers nn, Value x, String prefix, AutoencoderKlConfig c) {
        x = resnet(nn, x, prefix + ".resnets.0", c.normNumGroups());
        if (c.midBlockAddAttention()) x = attention(nn, x, prefix + ".attentions.0", c.normNumGroups());
        return resnet(nn, x, prefix + ".resnets.1", c.normNumGroups());
    }

    /**
     * {@code ResnetBlock2D} without time embedding: conv2(silu(norm2(conv1(silu(norm1(x)))))) plus
     * the input, through a 1x1 {@code conv_shortcut} when the channel count changes.
     */
    private static Value resnet(Layers nn, Value x, String prefix, int groups) {
        Value h = nn.silu(nn.groupNorm(x, prefix + ".norm1", groups, EPS));
        h = nn.conv2d(h, prefix + ".conv1", 1, 1);
        h = nn.silu(nn.groupNorm(h, prefix + ".norm2", groups, EPS));
        h = nn.conv2d(h, prefix + ".conv2", 1, 1);
        Value skip = nn.has(prefix + ".conv_shortcut.weight") ? nn.conv2d(x, prefix + ".conv_shortcut", 1, 0) : x;
        return nn.add(skip, h);
    }

    /**
     * The VAE's single-head spatial self-attention ({@code Attention} with a group norm and a
     * residual connection): group_norm, flatten to (B, HW, C), q/k/v projections,
     * softmax(q k^T / sqrt(C)) v, output projection, back to (B, C, H, W), plus the input.
     */
    private static Value attention(Layers nn, Value x, String prefix, int groups) {
        OnnxGraph g = nn.graph();
        boolean legacy = !nn.has(prefix + ".to_q.weight") && nn.has(prefix + ".query.weight");
        String q = prefix + (legacy ? ".query" : ".to_q");
        String k = prefix + (legacy ? ".key" : ".to_k");
        String v = prefix + (legacy ? ".value" : ".to_v");
        String out = prefix + (legacy ? ".proj_attn" : ".to_out.0");
        int[] qShape = nn.shape(q + ".weight");
        if (qShape.length != 2) {
            throw new IllegalArgumentException(nn.weights().origin() + ": " + q + ".weight has shape " + Arrays.toString(qShape)
                    + ", expected a [channels, channels] linear weight");
        }
        int channels = qShape[0];
        // group norm on (B, C, H, W) equals diffusers' group norm on the flattened (B, C, HW)
        Value h = nn.groupNorm(x, prefix + ".group_norm", groups, EPS);
        h = g.op("Transpose", List.of(g.op("Reshape", h, g.longs(0, channels, -1))), attr("perm", 0, 2, 1));
        Value query = nn.linear(h, q);
        Value key = nn.linear(h, k);
        Value value = nn.linear(h, v);
        Value keyT = g.op("Transpose", List.of(key), attr("perm", 0, 2, 1));
        Value scores = g.op("Mul", g.op("MatMul", query, keyT), g.scalar((float) Math.pow(channels, -0.5)));
        Value probs = g.op("Softmax", List.of(scores), attr("axis", -1L));
        Value o = nn.linear(g.op("MatMul", probs, value), out);
        o = g.op("Reshape", g.op("Transpose", List.of(o), attr("perm", 0, 2, 1)), g.op("Shape", x));
        return nn.add(o, x);
    }
}
