package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A diffusers {@code ControlNetModel} config.json: the UNet encoder half it shares with
 * {@code UNet2DConditionModel} (read by {@link UnetConfig}, so both take the same keys with the
 * same defaults and checks) plus the conditioning-image embedding.
 *
 * @param unet the encoder's structure; its up-block fields mirror the down blocks and are unused
 * @param conditioningEmbeddingOutChannels channels of the conditioning embedding's stages; each
 *     stage after the first halves the image, so the image is {@code 2^(n-1)} times the latent
 * @param conditioningChannels channels of the conditioning image (3)
 * @param bgr true when the model wants BGR images ({@code controlnet_conditioning_channel_order});
 *     the graph flips the channels itself, so callers always feed RGB
 */
public record ControlNetConfig(UnetConfig unet, int[] conditioningEmbeddingOutChannels, int conditioningChannels,
                               boolean bgr) {
    public static final String CLASS_NAME = "ControlNetModel";
    private static final int[] DEFAULT_EMBEDDING_CHANNELS = {16, 32, 96, 256};
    /** ControlNetModel's own keys, which UNet2DConditionModel does not have. */
    private static final String[] OWN_KEYS = {"conditioning_channels", "controlnet_conditioning_channel_order",
            "conditioning_embedding_out_channels", "global_pool_conditions", "addition_embed_type_num_heads"};
    /** UNet2DConditionModel keys that ControlNetModel does not read (it fixes these): ignored, as diffusers does. */
    private static final String[] IGNORED_UNET_KEYS = {"time_embedding_dim", "conv_in_kernel", "conv_out_kernel",
            "out_channels", "up_block_types", "center_input_sample", "sample_size"};

    /** How many times larger the conditioning image is than the latent, per side. */
    public int imageScale() {
        return 1 << (conditioningEmbeddingOutChannels.length - 1);
    }

    /** Number of down residuals: conv_in, one per down-block resnet, one per downsampler. */
    public int downResidualCount() {
        return UnetControlInputs.skipCount(unet);
    }

    /** Channels of each down residual, in order (those of the matching UNet skip connections). */
    public int[] downResidualChannels() {
        int[][] shapes = residualShapes(1, 1, 1);
        int[] out = new int[shapes.length - 1];
        for (int i = 0; i < out.length; i++) out[i] = shapes[i][1];
        return out;
    }

    /**
     * The shapes of the residuals for a latent of {@code rows} x C x h x w: down residuals 0 .. N-1
     * in order, then the mid one. Each downsampler (3x3, stride 2, padding 1) takes a side s to
     * ceil(s / 2). For sizing inputs (static shapes, zero residuals) without running the graph.
     */
    public int[][] residualShapes(int rows, int h, int w) {
        int[] ch = unet.blockOutChannels();
        int[][] out = new int[downResidualCount() + 1][];
        int k = 0;
        out[k++] = new int[] {rows, ch[0], h, w};
        for (int i = 0; i < unet.blockCount(); i++) {
            for (int j = 0; j < unet.layersPerBlock()[i]; j++) out[k++] = new int[] {rows, ch[i], h, w};
            if (i < unet.blockCount() - 1) {
                h = (h + 1) / 2;
                w = (w + 1) / 2;
                out[k++] = new int[] {rows, ch[i], h, w};
            }
        }
        out[k] = new int[] {rows, ch[ch.length - 1], h, w};
        return out;
    }

    /**
     * Checks that this ControlNet's residuals fit the UNet of {@code unetConfig} (same latent
     * channels, prompt width, block widths and layers, so every residual meets a skip connection of
     * its shape), with an error naming both config files and the values that differ.
     */
    public void requireFits(UnetConfig unetConfig, Path controlNetFile, Path unetFile) throws IOException {
        String why = null;
        if (unet.inChannels() != unetConfig.inChannels()) {
            why = "in_channels " + unet.inChannels() + " vs " + unetConfig.inChannels();
        } else if (unet.crossAttentionDim() != unetConfig.crossAttentionDim()) {
            why = "cross_attention_dim " + unet.crossAttentionDim() + " vs " + unetConfig.crossAttentionDim();
        } else if (!Arrays.equals(unet.blockOutChannels(), unetConfig.blockOutChannels())) {
            why = "block_out_channels " + Arrays.toString(unet.blockOutChannels()) + " vs " + Arrays.toString(unetConfig.blockOutChannels());
        } else if (!Arrays.equals(unet.layersPerBlock(), unetConfig.layersPerBlock())) {
            why = "layers_per_block " + Arrays.toString(unet.layersPerBlock()) + " vs " + Arrays.toString(unetConfig.layersPerBlock());
        } else if (unetConfig.midBlockType() == null) {
            why = "the UNet has no mid block";
        }
        if (why != null) {
            throw new InputFileException("the ControlNet " + controlNetFile + " does not fit the UNet " + unetFile + ": " + why
                    + " (an SD 1.x ControlNet needs an SD 1.x model, an SD 2.x one an SD 2.x model)");
        }
    }

    public static ControlNetConfig read(Path file) throws IOException {
        return parse(ConfigFiles.read(file), file);
    }

    /** The config from its parsed JSON; {@code file} names it in error messages. */
    public static ControlNetConfig parse(JsonNode n, Path file) throws IOException {
        String cls = ConfigFiles.text(n, "_class_name", CLASS_NAME);
        if (!cls.equals(CLASS_NAME)) {
            throw new InputFileException(file + ": '_class_name' is " + cls + ", expected " + CLASS_NAME);
        }
        if (ConfigFiles.bool(n, "global_pool_conditions", false, file)) {
            throw new InputFileException(file + ": 'global_pool_conditions' true is not supported (only false)");
        }
        if (n.hasNonNull("addition_time_embed_dim")) {
            throw new InputFileException(file + ": 'addition_time_embed_dim' " + n.get("addition_time_embed_dim")
                    + " is not supported (an SDXL ControlNet; only SD 1.x / 2.x ones are)");
        }
        String order = ConfigFiles.text(n, "controlnet_conditioning_channel_order", "rgb");
        if (!order.equals("rgb") && !order.equals("bgr")) {
            throw new InputFileException(file + ": 'controlnet_conditioning_channel_order' " + order + " is not supported (rgb or bgr)");
        }
        int condChannels = ConfigFiles.integer(n, "conditioning_channels", 3, file);
        if (condChannels != 3) {
            throw new InputFileException(file + ": 'conditioning_channels' " + condChannels + " is not supported (only 3, an RGB image)");
        }
        int[] embedding = ConfigFiles.ints(n, "conditioning_embedding_out_channels", DEFAULT_EMBEDDING_CHANNELS, file);
        if (embedding.length == 0) throw new InputFileException(file + ": 'conditioning_embedding_out_channels' is empty");
        for (int c : embedding) {
            if (c <= 0) {
                throw new InputFileException(file + ": 'conditioning_embedding_out_channels' should be positive, found "
                        + Arrays.toString(embedding));
            }
        }

        // The encoder half through the UNet reader: same keys, defaults and checks.
        ObjectNode asUnet = ((ObjectNode) n).deepCopy();
        for (String k : OWN_KEYS) asUnet.remove(k);
        for (String k : IGNORED_UNET_KEYS) asUnet.remove(k);
        asUnet.put("_class_name", "UNet2DConditionModel");
        JsonNode down = n.get("down_block_types");
        if (down != null && down.isArray()) {
            ArrayNode up = asUnet.putArray("up_block_types");
            for (int i = down.size() - 1; i >= 0; i--) {
                up.add(down.get(i).asText().equals(UnetConfig.CROSS_ATTN_DOWN) ? UnetConfig.CROSS_ATTN_UP : UnetConfig.UP);
            }
        }
        UnetConfig unet = UnetConfig.parse(asUnet, file);
        if (unet.midBlockType() == null) {
            throw new InputFileException(file + ": 'mid_block_type' null is not supported for a ControlNet (its mid residual"
                    + " comes from the mid block)");
        }
        return new ControlNetConfig(unet, embedding, condChannels, order.equals("bgr"));
    }
}
