package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.Locale;

/**
 * ControlNets the project can create with random weights ({@code models create}), each matching a
 * {@link ModelPreset}'s UNet: {@code tiny-controlnet} for the built-in {@code tiny} model (tests),
 * {@code sd15-controlnet} (the layout of lllyasviel/sd-controlnet-* and control_v11p_sd15_*: SD 1.5's
 * encoder, conditioning embedding 16, 32, 96, 256) and {@code sd-turbo-controlnet} (the SD 2.1 layout
 * of the SD 2.1 ControlNets, linear projections, for sd-turbo) for benchmarks.
 */
public enum ControlNetPreset {
    TINY("tiny-controlnet", ModelPreset.TINY, new int[] {8, 8, 16, 16}),
    SD15("sd15-controlnet", ModelPreset.SD15, new int[] {16, 32, 96, 256}),
    SD_TURBO("sd-turbo-controlnet", ModelPreset.SD_TURBO, new int[] {16, 32, 96, 256});

    private final String key;
    private final ModelPreset model;
    private final int[] embeddingChannels;

    ControlNetPreset(String key, ModelPreset model, int[] embeddingChannels) {
        this.key = key;
        this.model = model;
        this.embeddingChannels = embeddingChannels;
    }

    public String key() {
        return key;
    }

    /** The model preset whose UNet this ControlNet fits. */
    public ModelPreset model() {
        return model;
    }

    /** The preset names, for help and error messages. */
    public static String names() {
        return String.join(", ", Arrays.stream(values()).map(ControlNetPreset::key).toList());
    }

    /** The preset named {@code s}, or null when {@code s} names none (it may be a {@link ModelPreset}). */
    public static ControlNetPreset find(String s) {
        for (ControlNetPreset p : values()) if (p.key.equals(s.toLowerCase(Locale.ROOT))) return p;
        return null;
    }

    /**
     * The ControlNetModel config.json: the matching UNet's config without its decoder keys, plus
     * the conditioning embedding (as diffusers' {@code ControlNetModel.from_unet} makes it).
     */
    public ObjectNode config() {
        ObjectNode n = model.architecture().unet().deepCopy();
        n.put("_class_name", ControlNetConfig.CLASS_NAME);
        for (String k : new String[] {"up_block_types", "out_channels", "center_input_sample", "sample_size"}) n.remove(k);
        n.put("conditioning_channels", 3);
        n.put("controlnet_conditioning_channel_order", "rgb");
        var e = n.putArray("conditioning_embedding_out_channels");
        for (int c : embeddingChannels) e.add(c);
        n.put("global_pool_conditions", false);
        return n;
    }
}
