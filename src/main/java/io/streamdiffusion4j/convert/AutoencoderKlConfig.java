package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The parts of a diffusers {@code AutoencoderKL} config.json the graphs need. Absent keys take
 * diffusers' class defaults. Only the standard block types ({@code DownEncoderBlock2D},
 * {@code UpDecoderBlock2D}) and the SiLU activation are supported; anything else is an error
 * naming the file and the key.
 */
public record AutoencoderKlConfig(int[] blockOutChannels, int layersPerBlock, int normNumGroups, int latentChannels,
                                  int inChannels, int outChannels, double scalingFactor, boolean midBlockAddAttention,
                                  boolean useQuantConv, boolean usePostQuantConv) {

    /** diffusers' {@code AutoencoderKL} defaults. */
    public static final AutoencoderKlConfig DEFAULT =
            new AutoencoderKlConfig(new int[] {64}, 1, 32, 4, 3, 3, 0.18215, true, true, true);

    /** Stable Diffusion's VAE (SD 1.x / 2.x / sd-turbo). */
    public static final AutoencoderKlConfig STABLE_DIFFUSION =
            new AutoencoderKlConfig(new int[] {128, 256, 512, 512}, 2, 32, 4, 3, 3, 0.18215, true, true, true);

    public AutoencoderKlConfig {
        blockOutChannels = blockOutChannels.clone();
        if (blockOutChannels.length == 0) throw new IllegalArgumentException("block_out_channels is empty");
    }

    @Override
    public int[] blockOutChannels() {
        return blockOutChannels.clone();
    }

    public static AutoencoderKlConfig read(Path file) throws IOException {
        return parse(ConfigFiles.read(file), file);
    }

    /** The config from its parsed JSON; {@code file} names it in error messages. */
    public static AutoencoderKlConfig parse(JsonNode n, Path file) throws IOException {
        AutoencoderKlConfig d = DEFAULT;
        int[] blocks = ConfigFiles.ints(n, "block_out_channels", d.blockOutChannels(), file);
        if (blocks.length == 0) throw new InputFileException(file + ": 'block_out_channels' is empty");
        checkTypes(n, "down_block_types", "DownEncoderBlock2D", blocks.length, file);
        checkTypes(n, "up_block_types", "UpDecoderBlock2D", blocks.length, file);
        String act = ConfigFiles.text(n, "act_fn", "silu");
        if (!act.equals("silu")) throw new InputFileException(file + ": 'act_fn' is '" + act + "', only 'silu' is supported");
        int groups = ConfigFiles.integer(n, "norm_num_groups", d.normNumGroups(), file);
        for (int ch : blocks) {
            if (groups <= 0 || ch % groups != 0) {
                throw new InputFileException(file + ": 'block_out_channels' " + ch + " is not divisible by 'norm_num_groups' " + groups);
            }
        }
        int layers = ConfigFiles.integer(n, "layers_per_block", d.layersPerBlock(), file);
        if (layers <= 0) throw new InputFileException(file + ": 'layers_per_block' should be positive, found " + layers);
        return new AutoencoderKlConfig(
                blocks,
                layers,
                groups,
                ConfigFiles.integer(n, "latent_channels", d.latentChannels(), file),
                ConfigFiles.integer(n, "in_channels", d.inChannels(), file),
                ConfigFiles.integer(n, "out_channels", d.outChannels(), file),
                ConfigFiles.number(n, "scaling_factor", d.scalingFactor(), file),
                ConfigFiles.bool(n, "mid_block_add_attention", true, file),
                ConfigFiles.bool(n, "use_quant_conv", true, file),
                ConfigFiles.bool(n, "use_post_quant_conv", true, file));
    }

    private static void checkTypes(JsonNode n, String key, String expected, int count, Path file) throws IOException {
        String[] types = ConfigFiles.strings(n, key, null, file);
        if (types == null) return;
        if (types.length != count) {
            throw new InputFileException(file + ": '" + key + "' has " + types.length + " entries but 'block_out_channels' has " + count);
        }
        for (String t : types) {
            if (!t.equals(expected)) throw new InputFileException(file + ": '" + key + "' holds '" + t + "', only '" + expected + "' is supported");
        }
    }
}
