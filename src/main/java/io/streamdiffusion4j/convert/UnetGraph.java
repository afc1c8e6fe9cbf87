package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.weights.WeightSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * diffusers' {@code UNet2DConditionModel} (SD 1.x / 2.x / sd-turbo layout) as an ONNX graph with
 * the Optimum I/O names: {@code sample} (B, C, H, W), {@code timestep} int64 (one per batch row,
 * or one for all rows), {@code encoder_hidden_states} (B, L, D) -> {@code out_sample}. Weights are
 * taken by their diffusers module names ({@code down_blocks.0.resnets.0.conv1.weight}, ...).
 *
 * <p>One method per diffusers module, each emitting the operations torch's exporter emits for it,
 * so the graph agrees with an Optimum export to float32 rounding. Inputs and outputs are float32
 * even for {@code half} graphs; the sinusoidal time embedding is always computed in float32 (as
 * diffusers does) and cast afterwards. As in the Optimum export, latent sides must be divisible
 * by {@code 2^(blocks - 1)} (8 for SD) so that each 2x upsampling meets its skip connection.
 */
public final class UnetGraph {
    /** Transformer2DModel's GroupNorm eps (fixed in diffusers, not the config's norm_eps). */
    private static final float TRANSFORMER_NORM_EPS = 1e-6f;
    /** BasicTransformerBlock's LayerNorm eps (diffusers default norm_eps of the block). */
    private static final float LAYER_NORM_EPS = 1e-5f;
    /** Timesteps: max_period of the sinusoidal embedding. */
    private static final double MAX_PERIOD = 10000.0;

    private final OnnxGraph g;
    private final Layers nn;
    private final UnetConfig c;
    private final IpAdapterGraph ip; // null: the plain UNet
    // package-private, like the constructor and the time / down / mid methods: ControlNetGraph builds the same encoder
    Value context;   // encoder_hidden_states (B, L, D)
    Value tembAct;   // silu(time embedding), shared by every resnet's time_emb_proj

    /** The plain UNet's builder (ControlNetGraph's encoder too). */
    UnetGraph(OnnxGraph g, WeightSource weights, UnetConfig c) {
        this(g, weights, c, null);
    }

    private UnetGraph(OnnxGraph g, WeightSource weights, UnetConfig c, IpAdapterWeights ipAdapter) {
        this.g = g;
        this.nn = new Layers(g, weights);
        this.c = c;
        if (ipAdapter != null) IpAdapterGraph.check(ipAdapter, c, nn);
        this.ip = ipAdapter == null ? null : new IpAdapterGraph(g, ipAdapter, c);
    }

    public static OnnxGraph build(WeightSource weights, UnetConfig config, boolean half) {
        return build(weights, config, half, null);
    }

    /**
     * The UNet with an IP-Adapter's decoupled cross-attention ({@link IpAdapterGraph}: encoder_hidden_states
     * extended by the image tokens and a scale row); null for the plain UNet.
     */
    public static OnnxGraph build(WeightSource weights, UnetConfig config, boolean half, IpAdapterWeights ipAdapter) {
        OnnxGraph g = new OnnxGraph("unet", half);
        new UnetGraph(g, weights, config, ipAdapter).forward();
        return g;
    }

    /** {@code UNet2DConditionModel.forward}. */
    private void forward() {
        Value sample = g.floatInput("sample", "batch_size", "num_channels", "height", "width");
        Value timestep = g.input("timestep", TensorProto.DataType.INT64_VALUE, "steps");
        context = g.floatInput("encoder_hidden_states", "batch_size", "sequence_length", c.crossAttentionDim());
        if (ip != null) context = ip.split(context);
        SdxlAddedEmbedding added = c.addedEmbedding() == null ? null : SdxlAddedEmbedding.inputs(g, c.addedEmbedding());

        if (c.centerInputSample()) sample = g.op("Sub", g.op("Mul", sample, g.scalar(2f)), g.scalar(1f));

        // 1. time: sinusoidal projection (float32), then the learned embedding in the graph's precision
        Value tEmb = timeProj(timestep, sample);
        if (g.isHalf()) tEmb = g.cast(tEmb, g.floatType());
        Value emb = timeEmbedding(tEmb);
        if (added != null) emb = nn.add(emb, added.embedding(nn, c)); // SDXL: + add_embedding(text_embeds, time_ids)
        tembAct = nn.silu(emb);

        // 2. pre-process
        Value x = nn.conv2d(sample, "conv_in", 1, (c.convInKernel() - 1) / 2);

        // 3. down: every resnet/attention output and every downsampler output is kept for the up path
        List<Value> skips = new ArrayList<>();
        skips.add(x);
        for (int i = 0; i < c.blockCount(); i++) x = downBlock(x, i, skips);

        // 4. mid
        if (c.midBlockType() != null) x = midBlock(x);

        // 5. up: each resnet takes the latest skip (last in, first out)
        for (int i = 0; i < c.blockCount(); i++) x = upBlock(x, i, skips);
        if (!skips.isEmpty()) throw new IllegalStateException(skips.size() + " skip connections left unused");

        // 6. post-process
        x = nn.silu(nn.groupNorm(x, "conv_norm_out", c.normNumGroups(), c.normEps()));
        x = nn.conv2d(x, "conv_out", 1, (c.convOutKernel() - 1) / 2);
        g.floatOutput("out_sample", x, "batch_size", "num_channels", "height", "width");
    }

    // ---- time embedding --------------------------------------------------------------------------

    /**
     * {@code Timesteps} / {@code get_timestep_embedding}: timesteps broadcast to the batch
     * ({@code timesteps.expand(sample.shape[0])}), cast to float, times a frequency vector, then
     * [sin, cos] (or [cos, sin] with flip_sin_to_cos). Always float32, as in diffusers.
     */
    Value timeProj(Value timestep, Value sample) {
        Value batch = g.op("Shape", List.of(sample), attr("start", 0L), attr("end", 1L));
        Value t = g.op("Expand", timestep, batch);
        Value tf = g.cast(g.op("Unsqueeze", t, g.longs(1)), TensorProto.DataType.FLOAT_VALUE);
        float[] freqs = timestepFrequencies(c.blockOutChannels()[0], c.freqShift());
        Value args = g.op("Mul", tf, g.constant32(freqs, 1, freqs.length));
        Value sin = g.op("Sin", args);
        Value cos = g.op("Cos", args);
        return g.op("Concat", c.flipSinToCos() ? List.of(cos, sin) : List.of(sin, cos), attr("axis", -1L));
    }

    /**
     * The frequency vector bit-for-bit as torch computes it in float32:
     * {@code exp(-ln(max_period) * arange(half) / (half - freq_shift))}, each step rounded to float,
     * and the exp as torch's CPU kernel does it ({@link #torchExpf}), so the constant equals the one
     * in a torch export.
     */
    static float[] timestepFrequencies(int embeddingDim, float freqShift) {
        int half = embeddingDim / 2;
        float scale = (float) -Math.log(MAX_PERIOD);
        float denominator = half - freqShift;
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = scale * (float) i;
            exponent = exponent / denominator;
            f[i] = torchExpf(exponent);
        }
        return f;
    }

    /**
     * float32 exp as PyTorch's vectorised CPU kernel computes it (SLEEF {@code expf_u10} with FMA,
     * used on AVX2/AVX-512 machines): within 1 ulp of the exact value, but not always the correctly
     * rounded float that {@code (float) Math.exp(x)} gives (about one frequency in ten differs by
     * 1 ulp). Checked bit-exact against torch 1.13 for every embedding size up to 800.
     */
    static float torchExpf(float d) {
        int q = (int) Math.rint(d * 1.442695040888963407359924681001892137426645954152985934135449406931f); // x / ln 2
        float s = Math.fma((float) q, -0.693145751953125f, d);       // ln 2, upper bits
        s = Math.fma((float) q, -1.428606765330187045e-06f, s);      // ln 2, lower bits
        float u = 0.000198527617612853646278381f;
        u = Math.fma(u, s, 0.00139304355252534151077271f);
        u = Math.fma(u, s, 0.00833336077630519866943359f);
        u = Math.fma(u, s, 0.0416664853692054748535156f);
        u = Math.fma(u, s, 0.166666671633720397949219f);
        u = Math.fma(u, s, 0.5f);
        u = 1.0f + Math.fma(s * s, u, s);
        if (d < -104f) return 0f;
        if (d > 100f) return Float.POSITIVE_INFINITY;
        return Math.scalb(u, q);
    }

    /** {@code TimestepEmbedding}: linear_1, silu, linear_2. */
    Value timeEmbedding(Value tEmb) {
        Value h = nn.linear(tEmb, "time_embedding.linear_1");
        return nn.linear(nn.silu(h), "time_embedding.linear_2");
    }

    // ---- blocks -----------------------------------------------------------------------------------

    /** {@code CrossAttnDownBlock2D} / {@code DownBlock2D}; appends its outputs to {@code skips}. */
    Value downBlock(Value x, int i, List<Value> skips) {
        String prefix = "down_blocks." + i;
        boolean attention = c.downBlockTypes()[i].equals(UnetConfig.CROSS_ATTN_DOWN);
        for (int j = 0; j < c.layersPerBlock()[i]; j++) {
            x = resnet(x, prefix + ".resnets." + j, 1f);
            if (attention) x = transformer2d(x, prefix + ".attentions." + j, c.attentionHeads()[i], c.transformerLayersPerBlock()[i]);
            skips.add(x);
        }
        if (i < c.blockCount() - 1) {
            x = downsample(x, prefix + ".downsamplers.0");
            skips.add(x);
        }
        return x;
    }

    /** {@code UNetMidBlock2DCrossAttn} (one layer): resnet, then (attention, resnet). */
    Value midBlock(Value x) {
        int last = c.blockCount() - 1;
        x = resnet(x, "mid_block.resnets.0", c.midBlockScaleFactor());
        x = transformer2d(x, "mid_block.attentions.0", c.attentionHeads()[last], c.transformerLayersPerBlock()[last]);
        return resnet(x, "mid_block.resnets.1", c.midBlockScaleFactor());
    }

    /** {@code CrossAttnUpBlock2D} / {@code UpBlock2D}: each resnet sees cat([x, latest skip], dim=1). */
    private Value upBlock(Value x, int i, List<Value> skips) {
        String prefix = "up_blocks." + i;
        boolean attention = c.upBlockTypes()[i].equals(UnetConfig.CROSS_ATTN_UP);
        for (int j = 0; j < c.upLayers(i); j++) {
            if (skips.isEmpty()) throw new IllegalStateException(prefix + ".resnets." + j + " has no skip connection left");
            Value skip = skips.removeLast();
            x = g.op("Concat", List.of(x, skip), attr("axis", 1L));
            x = resnet(x, prefix + ".resnets." + j, 1f);
            if (attention) x = transformer2d(x, prefix + ".attentions." + j, c.upHeads(i), c.upTransformerLayers(i));
        }
        if (i < c.blockCount() - 1) x = upsample(x, prefix + ".upsamplers.0");
        return x;
    }

    // ---- modules --------------------------------------------------------------------------------

    /**
     * {@code ResnetBlock2D} (time_embedding_norm "default"): norm1, silu, conv1,
     * + time_emb_proj(silu(temb))[:, :, None, None], norm2, silu, conv2; the input goes through a
     * 1x1 conv_shortcut when the channel count changes; (input + h) / output_scale_factor.
     */
    private Value resnet(Value x, String prefix, float outputScaleFactor) {
        Value h = nn.silu(nn.groupNorm(x, prefix + ".norm1", c.normNumGroups(), c.normEps()));
        h = nn.conv2d(h, prefix + ".conv1", 1, 1);
        Value t = nn.linear(tembAct, prefix + ".time_emb_proj");
        h = nn.add(h, g.op("Unsqueeze", t, g.longs(2, 3)));
        h = nn.silu(nn.groupNorm(h, prefix + ".norm2", c.normNumGroups(), c.normEps()));
        h = nn.conv2d(h, prefix + ".conv2", 1, 1);
        Value shortcut = nn.has(prefix + ".conv_shortcut.weight") ? nn.conv2d(x, prefix + ".conv_shortcut", 1, 0) : x;
        Value out = nn.add(shortcut, h);
        // dividing by 1 is exact, so only emit the Div when it changes something
        return outputScaleFactor == 1f ? out : g.op("Div", out, g.scalar(outputScaleFactor));
    }

    /** {@code Downsample2D} with a conv: stride 2, padding 1 (or padding 0 after an F.pad of (0, 1, 0, 1)). */
    private Value downsample(Value x, String prefix) {
        return c.downsamplePadding() == 1
                ? nn.conv2d(x, prefix + ".conv", 2, 1)
                : nn.conv2d(x, prefix + ".conv", 2, new int[] {0, 0, 1, 1});
    }

    /** {@code Upsample2D} with a conv: nearest-neighbour 2x, then a 3x3 conv. */
    private Value upsample(Value x, String prefix) {
        return nn.conv2d(nn.upsampleNearest2x(x), prefix + ".conv", 1, 1);
    }

    /**
     * {@code Transformer2DModel} on continuous input: GroupNorm (eps 1e-6), proj_in, the
     * BasicTransformerBlocks on (B, H*W, C) tokens, proj_out, plus the input. SD 1.x projects with
     * 1x1 convolutions before flattening / after unflattening; SD 2.x (use_linear_projection) with
     * linear layers on the tokens. Both orders give the same tokens, only the weight layout differs.
     */
    private Value transformer2d(Value x, String prefix, int heads, int layers) {
        Value residual = x;
        Value h = nn.groupNorm(x, prefix + ".norm", c.normNumGroups(), TRANSFORMER_NORM_EPS);
        if (c.useLinearProjection()) {
            h = nn.linear(tokens(h), checkedProjection(prefix + ".proj_in", 2));
        } else {
            h = tokens(nn.conv2d(h, checkedProjection(prefix + ".proj_in", 4), 1, 0));
        }
        for (int i = 0; i < layers; i++) h = basicTransformerBlock(h, prefix + ".transformer_blocks." + i, heads);
        if (c.useLinearProjection()) {
            h = image(nn.linear(h, checkedProjection(prefix + ".proj_out", 2)), residual);
        } else {
            h = nn.conv2d(image(h, residual), checkedProjection(prefix + ".proj_out", 4), 1, 0);
        }
        return nn.add(h, residual);
    }

    /** A clear error when proj_in/proj_out weights do not have the layout use_linear_projection implies. */
    private String checkedProjection(String prefix, int rank) {
        int[] s = nn.shape(prefix + ".weight");
        if (s.length != rank) {
            throw new IllegalArgumentException(nn.weights().origin() + ": " + prefix + ".weight has shape " + Arrays.toString(s)
                    + ", but use_linear_projection=" + c.useLinearProjection() + " needs a " + (rank == 2 ? "linear" : "1x1 conv")
                    + " weight; check the config's use_linear_projection");
        }
        return prefix;
    }

    /** (B, C, H, W) -> (B, H*W, C): {@code permute(0, 2, 3, 1).reshape(B, H*W, C)}. */
    private Value tokens(Value x) {
        return g.op("Transpose", List.of(g.op("Reshape", x, g.longs(0, 0, -1))), attr("perm", 0L, 2L, 1L));
    }

    /** (B, H*W, C) -> (B, C, H, W) with the shape of {@code like}. */
    private Value image(Value tokens, Value like) {
        return g.op("Reshape", g.op("Transpose", List.of(tokens), attr("perm", 0L, 2L, 1L)), g.op("Shape", like));
    }

    /**
     * {@code BasicTransformerBlock} (layer_norm): x + attn1(norm1(x)) (self-attention),
     * x + attn2(norm2(x), encoder_hidden_states) (cross-attention), x + ff(norm3(x)).
     */
    private Value basicTransformerBlock(Value x, String prefix, int heads) {
        Value n1 = nn.layerNorm(x, prefix + ".norm1", LAYER_NORM_EPS);
        x = nn.add(attention(n1, n1, prefix + ".attn1", heads), x);
        Value n2 = nn.layerNorm(x, prefix + ".norm2", LAYER_NORM_EPS);
        x = nn.add(attention(n2, context, prefix + ".attn2", heads), x);
        Value n3 = nn.layerNorm(x, prefix + ".norm3", LAYER_NORM_EPS);
        return nn.add(feedForward(n3, prefix + ".ff"), x);
    }

    /**
     * {@code Attention} with the default processor: to_q on x, to_k/to_v on {@code kv} (x for
     * self-attention), softmax(q k^T * dim_head^-0.5) v per head, to_out.0 (with bias).
     */
    private Value attention(Value x, Value kv, String prefix, int heads) {
        int inner = nn.shape(prefix + ".to_q.weight")[0];
        if (inner % heads != 0) {
            throw new IllegalArgumentException(nn.weights().origin() + ": " + prefix + ".to_q.weight has " + inner
                    + " outputs, not divisible by " + heads + " heads");
        }
        if (kv == context) {
            int kvIn = nn.shape(prefix + ".to_k.weight")[1];
            if (kvIn != c.crossAttentionDim()) {
                throw new IllegalArgumentException(nn.weights().origin() + ": " + prefix + ".to_k.weight takes " + kvIn
                        + " features, but cross_attention_dim is " + c.crossAttentionDim());
            }
        }
        int headDim = inner / heads;
        float scale = (float) Math.pow(headDim, -0.5);
        Value q = nn.linear(x, prefix + ".to_q");
        Value k = nn.linear(kv, prefix + ".to_k");
        Value v = nn.linear(kv, prefix + ".to_v");
        Value out = g.isHalf() && c.upcastAttention()
                ? attentionUpcast(q, k, v, heads, headDim, scale)
                : nn.attention(q, k, v, heads, headDim, scale, null);
        if (ip != null && kv == context) out = ip.addDecoupled(prefix, q, out, heads, headDim, scale);
        return nn.linear(out, prefix + ".to_out.0");
    }

    /**
     * Multi-head attention with q k^T and the softmax in float32 (diffusers' upcast_attention,
     * which SD 2.1 needs in float16: its attention scores overflow half precision); the
     * probabilities go back to the graph's precision before multiplying v.
     */
    private Value attentionUpcast(Value q, Value k, Value v, int heads, int headDim, float scale) {
        int f32 = TensorProto.DataType.FLOAT_VALUE;
        Value qh = g.op("Transpose", List.of(g.op("Reshape", q, g.longs(0, 0, heads, headDim))), attr("perm", 0L, 2L, 1L, 3L));
        Value kh = g.op("Transpose", List.of(g.op("Reshape", k, g.longs(0, 0, heads, headDim))), attr("perm", 0L, 2L, 3L, 1L));
        Value vh = g.op("Transpose", List.of(g.op("Reshape", v, g.longs(0, 0, heads, headDim))), attr("perm", 0L, 2L, 1L, 3L));
        Value scores = g.op("Mul", g.op("MatMul", g.cast(qh, f32), g.cast(kh, f32)), g.constant32(new float[] {scale}));
        Value probs = g.cast(g.op("Softmax", List.of(scores), attr("axis", -1L)), g.floatType());
        Value out = g.op("Transpose", List.of(g.op("MatMul", probs, vh)), attr("perm", 0L, 2L, 1L, 3L));
        return g.op("Reshape", out, g.longs(0, 0, (long) heads * headDim));
    }

    /**
     * {@code FeedForward} with GEGLU: net.0.proj to 2 x inner, split in two along the last axis,
     * first half * gelu(second half), then net.2.
     */
    private Value feedForward(Value x, String prefix) {
        int doubled = nn.shape(prefix + ".net.0.proj.weight")[0];
        Value h = nn.linear(x, prefix + ".net.0.proj");
        Value[] parts = g.ops("Split", 2, List.of(h, g.longs(doubled / 2, doubled / 2)), attr("axis", -1L));
        return nn.linear(nn.mul(parts[0], nn.gelu(parts[1])), prefix + ".net.2");
    }
}
