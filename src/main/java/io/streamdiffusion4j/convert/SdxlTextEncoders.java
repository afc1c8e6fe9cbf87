package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors.Spec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What Stable Diffusion XL takes from its two text encoders, and where a model keeps them. SDXL
 * ({@code StableDiffusionXLPipeline.encode_prompt} in diffusers 0.24-0.27) runs CLIP ViT-L
 * ({@code text_encoder/}, a {@code CLIPTextModel}) and OpenCLIP ViT-bigG
 * ({@code text_encoder_2/}, a {@code CLIPTextModelWithProjection}) with
 * {@code output_hidden_states=True}, takes each one's {@code hidden_states[-2]} (the output of
 * the last-but-one layer, before the final LayerNorm) and concatenates them along the features
 * (768 + 1280 = the UNet's 2048-wide cross-attention input); the pooled embedding
 * ({@code text_embeds}, 1280) is the second encoder's pooled output through its
 * {@code text_projection} (no bias). The tokenizers share CLIP's vocabulary but pad differently
 * ({@code tokenizer/} with {@code <|endoftext|>}, {@code tokenizer_2/} with {@code !}).
 */
public final class SdxlTextEncoders {
    /** The second text encoder's folder in diffusers and Optimum layouts. */
    public static final String TEXT_ENCODER_2 = "text_encoder_2";
    public static final String TOKENIZER_2 = "tokenizer_2";
    /** The projection of {@code CLIPTextModelWithProjection} (a bias-free Linear). */
    public static final String PROJECTION = "text_projection";
    /** Optimum's name for the projected pooled output. */
    public static final String TEXT_EMBEDS = "text_embeds";

    private SdxlTextEncoders() {}

    /** Optimum's output name for {@code hidden_states[-2]} of an encoder with {@code layers} layers. */
    public static String penultimateOutput(int layers) {
        return "hidden_states." + (layers - 1);
    }

    /** True when a diffusers (or converted) folder has SDXL's second text encoder. */
    public static boolean isSdxl(Path modelDir) {
        return Files.isDirectory(modelDir.resolve(TEXT_ENCODER_2));
    }

    /** {@code projection_dim} of a CLIPTextModelWithProjection config (transformers' default 512). */
    public static int projectionDim(JsonNode config, Path file) throws IOException {
        JsonNode n = config.has("text_config") && config.get("text_config").isObject() ? config.get("text_config") : config;
        int d = ConfigFiles.integer(n, "projection_dim", 512, file);
        if (d <= 0) throw new InputFileException(file + ": 'projection_dim' should be positive, found " + d);
        return d;
    }

    /** The weights of {@code CLIPTextModelWithProjection}: the text model's and the projection's. */
    public static List<Spec> withProjection(ClipTextConfig c, int projectionDim) {
        List<Spec> specs = new ArrayList<>(WeightSpecs.clipText(c));
        specs.add(new Spec(PROJECTION + ".weight", DType.F32, new int[] {projectionDim, c.hiddenSize()}));
        return specs;
    }
}
