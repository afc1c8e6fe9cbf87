package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The parts of a transformers {@code CLIPTextConfig} (the text encoder's config.json) the graph
 * needs. Absent keys take transformers' class defaults; a whole {@code CLIPModel} config is read
 * from its {@code text_config}.
 *
 * @param hiddenAct {@code gelu} (erf form) or {@code quick_gelu}
 * @param eosTokenId the end-of-text id; 2 selects transformers' legacy pooling rule (argmax of the ids)
 */
public record ClipTextConfig(int hiddenSize, int intermediateSize, int numAttentionHeads, int numHiddenLayers,
                             int maxPositionEmbeddings, int vocabSize, String hiddenAct, double layerNormEps,
                             int eosTokenId) {

    /** transformers' {@code CLIPTextConfig} defaults (the openai/clip-vit-base-patch32 text model). */
    public static final ClipTextConfig DEFAULT = new ClipTextConfig(512, 2048, 8, 12, 77, 49408, "quick_gelu", 1e-5, 49407);

    public ClipTextConfig {
        if (!hiddenAct.equals("gelu") && !hiddenAct.equals("quick_gelu")) {
            throw new IllegalArgumentException("unsupported hidden_act '" + hiddenAct + "' (gelu or quick_gelu)");
        }
        if (hiddenSize <= 0 || numAttentionHeads <= 0 || hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible into "
                    + numAttentionHeads + " attention heads");
        }
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** transformers 4.35: configs with eos_token_id 2 (older exports) pool at argmax(input_ids). */
    public boolean legacyPooling() {
        return eosTokenId == 2;
    }

    /** A copy with another activation. */
    public ClipTextConfig withHiddenAct(String act) {
        return new ClipTextConfig(hiddenSize, intermediateSize, numAttentionHeads, numHiddenLayers, maxPositionEmbeddings,
                vocabSize, act, layerNormEps, eosTokenId);
    }

    public static ClipTextConfig read(Path file) throws IOException {
        return parse(ConfigFiles.read(file), file);
    }

    /** The config from its parsed JSON; {@code file} names it in error messages. */
    public static ClipTextConfig parse(JsonNode root, Path file) throws IOException {
        JsonNode n = root.has("text_config") && root.get("text_config").isObject() ? root.get("text_config") : root;
        ClipTextConfig d = DEFAULT;
        ClipEncoderLayers.Settings e = ClipEncoderLayers.settings(n,
                new ClipEncoderLayers.Settings(d.hiddenSize(), d.numAttentionHeads(), d.hiddenAct(), d.numHiddenLayers()), file);
        int hidden = e.hiddenSize();
        int heads = e.numAttentionHeads();
        String act = e.hiddenAct();
        int layers = e.numHiddenLayers();
        int positions = ConfigFiles.integer(n, "max_position_embeddings", d.maxPositionEmbeddings(), file);
        if (positions <= 0) throw new InputFileException(file + ": 'max_position_embeddings' should be positive, found " + positions);
        return new ClipTextConfig(
                hidden,
                ConfigFiles.integer(n, "intermediate_size", d.intermediateSize(), file),
                heads,
                layers,
                positions,
                ConfigFiles.integer(n, "vocab_size", d.vocabSize(), file),
                act,
                ConfigFiles.number(n, "layer_norm_eps", d.layerNormEps(), file),
                ConfigFiles.integer(n, "eos_token_id", d.eosTokenId(), file));
    }
}
