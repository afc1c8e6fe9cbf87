package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The parts of a transformers {@code CLIPVisionConfig} (an IP-Adapter's {@code image_encoder/config.json},
 * a {@code CLIPVisionModelWithProjection}) the graph needs. Absent keys take transformers' class
 * defaults; a whole {@code CLIPModel} config is read from its {@code vision_config}.
 *
 * @param hiddenAct {@code gelu} (erf form; OpenCLIP ViT-H, IP-Adapter's encoder) or {@code quick_gelu} (OpenAI CLIP)
 */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int projectionDim, int numAttentionHeads,
                               int numHiddenLayers, int numChannels, int imageSize, int patchSize, String hiddenAct,
                               double layerNormEps) {

    /** transformers' {@code CLIPVisionConfig} defaults (openai/clip-vit-base-patch32's vision tower). */
    public static final ClipVisionConfig DEFAULT = new ClipVisionConfig(768, 3072, 512, 12, 12, 3, 224, 32, "quick_gelu", 1e-5);

    public ClipVisionConfig {
        if (!hiddenAct.equals("gelu") && !hiddenAct.equals("quick_gelu")) {
            throw new IllegalArgumentException("unsupported hidden_act '" + hiddenAct + "' (gelu or quick_gelu)");
        }
        if (hiddenSize <= 0 || numAttentionHeads <= 0 || hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible into "
                    + numAttentionHeads + " attention heads");
        }
        if (patchSize <= 0 || imageSize % patchSize != 0) {
            throw new IllegalArgumentException("image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
        }
    }

    /** Patches plus the class token. */
    public int positions() {
        int side = imageSize / patchSize;
        return side * side + 1;
    }

    public static ClipVisionConfig read(Path file) throws IOException {
        return parse(ConfigFiles.read(file), file);
    }

    /** The config from its parsed JSON; {@code file} names it in error messages. */
    public static ClipVisionConfig parse(JsonNode root, Path file) throws IOException {
        JsonNode n = root.has("vision_config") && root.get("vision_config").isObject() ? root.get("vision_config") : root;
        ClipVisionConfig d = DEFAULT;
        ClipEncoderLayers.Settings e = ClipEncoderLayers.settings(n,
                new ClipEncoderLayers.Settings(d.hiddenSize(), d.numAttentionHeads(), d.hiddenAct(), d.numHiddenLayers()), file);
        int hidden = e.hiddenSize();
        int heads = e.numAttentionHeads();
        String act = e.hiddenAct();
        int layers = e.numHiddenLayers();
        int image = ConfigFiles.integer(n, "image_size", d.imageSize(), file);
        int patch = ConfigFiles.integer(n, "patch_size", d.patchSize(), file);
        if (patch <= 0 || image <= 0 || image % patch != 0) {
            throw new InputFileException(file + ": 'image_size' " + image + " is not a positive multiple of 'patch_size' " + patch);
        }
        // projection_dim sits in the vision config of a CLIPVisionModelWithProjection, in the root of a CLIPModel's
        int projection = ConfigFiles.integer(n, "projection_dim", ConfigFiles.integer(root, "projection_dim", d.projectionDim(), file), file);
        return new ClipVisionConfig(hidden, ConfigFiles.integer(n, "intermediate_size", d.intermediateSize(), file),
                projection, heads, layers, ConfigFiles.integer(n, "num_channels", d.numChannels(), file), image, patch, act,
                ConfigFiles.number(n, "layer_norm_eps", d.layerNormEps(), file));
    }

    /** This config as the config.json of a {@code CLIPVisionModelWithProjection}. */
    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.putArray("architectures").add("CLIPVisionModelWithProjection");
        n.put("model_type", "clip_vision_model");
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("projection_dim", projectionDim);
        n.put("num_attention_heads", numAttentionHeads);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_channels", numChannels);
        n.put("image_size", imageSize);
        n.put("patch_size", patchSize);
        n.put("hidden_act", hiddenAct);
        n.put("layer_norm_eps", layerNormEps);
        n.put("torch_dtype", "float32");
        return n;
    }
}
