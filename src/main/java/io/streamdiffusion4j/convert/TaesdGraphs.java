package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.weights.WeightSource;

/**
 * TAESD (diffusers' {@code AutoencoderTiny}) as ONNX graphs with the Optimum I/O names.
 * The encoder maps images from [-1, 1] to [0, 1] first; the decoder clamps latents with
 * {@code tanh(x / 3) * 3} first and maps its output back to [-1, 1] — the same steps as
 * {@code EncoderTiny.forward} and {@code DecoderTiny.forward}, so the graphs take and give what
 * the pipeline uses for any VAE. Weights: {@code encoder.layers.N...}, {@code decoder.layers.N...}.
 */
public final class TaesdGraphs {
    private TaesdGraphs() {}

    public static OnnxGraph encoder(WeightSource weights, TaesdConfig c, boolean half) {
        OnnxGraph g = new OnnxGraph("taesd_encoder", half);
        Layers nn = new Layers(g, weights);
        Value x = g.floatInput("sample", "batch_size", "num_channels", "height", "width");
        x = g.op("Div", g.op("Add", x, g.scalar(1f)), g.scalar(2f));
        int layer = 0;
        for (int i = 0; i < c.numEncoderBlocks().length; i++) {
            String conv = "encoder.layers." + layer++;
            x = i == 0 ? nn.conv2d(x, conv, 1, 1) : nn.conv2d(x, conv, 2, 1);
            for (int b = 0; b < c.numEncoderBlocks()[i]; b++) x = block(nn, x, "encoder.layers." + layer++);
        }
        x = nn.conv2d(x, "encoder.layers." + layer, 1, 1);
        g.floatOutput("latent_sample", x, "batch_size", "num_channels_latent", "height_latent", "width_latent");
        return g;
    }

    public static OnnxGraph decoder(WeightSource weights, TaesdConfig c, boolean half) {
        OnnxGraph g = new OnnxGraph("taesd_decoder", half);
        Layers nn = new Layers(g, weights);
        Value x = g.floatInput("latent_sample", "batch_size", "num_channels_latent", "height_latent", "width_latent");
        x = g.op("Mul", g.op("Tanh", g.op("Div", x, g.scalar(3f))), g.scalar(3f));
        x = nn.relu(nn.conv2d(x, "decoder.layers.0", 1, 1));
        int layer = 2; // layers.1 is the activation
        int[] blocks = c.numDecoderBlocks();
        for (int i = 0; i < blocks.length; i++) {
            boolean last = i == blocks.length - 1;
            for (int b = 0; b < blocks[i]; b++) x = block(nn, x, "decoder.layers." + layer++);
            if (!last) {
                x = nn.upsampleNearest2x(x);
                layer++;
            }
            x = nn.conv2d(x, "decoder.layers." + layer++, 1, 1);
        }
        x = g.op("Sub", g.op("Mul", x, g.scalar(2f)), g.scalar(1f));
        g.floatOutput("sample", x, "batch_size", "num_channels", "height", "width");
        return g;
    }

    /** {@code AutoencoderTinyBlock}: relu(conv(relu(conv(relu(conv(x))))) + skip(x)). */
    private static Value block(Layers nn, Value x, String prefix) {
        Value h = nn.relu(nn.conv2d(x, prefix + ".conv.0", 1, 1));
        h = nn.relu(nn.conv2d(h, prefix + ".conv.2", 1, 1));
        h = nn.conv2d(h, prefix + ".conv.4", 1, 1);
        Value skip = nn.has(prefix + ".skip.weight") ? nn.conv2d(x, prefix + ".skip", 1, 0) : x;
        return nn.relu(nn.add(h, skip));
    }
}
