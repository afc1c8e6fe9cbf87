package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;

/** The parts of an {@code AutoencoderTiny} config.json the graphs need. */
public record TaesdConfig(int[] numEncoderBlocks, int[] numDecoderBlocks, int latentChannels, double scalingFactor) {

    public static final TaesdConfig DEFAULT = new TaesdConfig(new int[] {1, 3, 3, 3}, new int[] {3, 3, 3, 1}, 4, 1.0);

    public static TaesdConfig read(Path file) throws IOException {
        return parse(ConfigFiles.read(file), file);
    }

    /** The config from its parsed JSON; {@code file} names it in error messages. */
    public static TaesdConfig parse(JsonNode n, Path file) throws IOException {
        return new TaesdConfig(
                ConfigFiles.ints(n, "num_encoder_blocks", DEFAULT.numEncoderBlocks(), file),
                ConfigFiles.ints(n, "num_decoder_blocks", DEFAULT.numDecoderBlocks(), file),
                ConfigFiles.integer(n, "latent_channels", 4, file),
                ConfigFiles.number(n, "scaling_factor", 1.0, file));
    }
}
