package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.convert.OnnxGraph.Value;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors.Spec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * SDXL's added conditioning of the UNet ({@code addition_embed_type: "text_time"} in diffusers'
 * {@code UNet2DConditionModel}): the pooled text embedding ({@code text_embeds}, B x 1280) and the
 * six micro-conditioning numbers ({@code time_ids}, B x 6: original height and width, crop top
 * and left, target height and width) become one more term of the time embedding:
 * {@code emb += add_embedding(cat([text_embeds, add_time_proj(time_ids.flatten()).reshape(B, -1)], -1))},
 * where {@code add_time_proj} is the same sinusoidal {@code Timesteps} as the timestep's (the
 * config's flip_sin_to_cos and freq_shift) at {@code addition_time_embed_dim} (256) per number, and
 * {@code add_embedding} a {@code TimestepEmbedding} (linear_1, silu, linear_2) from
 * {@code projection_class_embeddings_input_dim} (2816 = 1280 + 6 x 256) to the time embedding size.
 * The graph takes both as inputs under Optimum's names.
 */
public final class SdxlAddedEmbedding {
    static final String TEXT_EMBEDS = "text_embeds";
    static final String TIME_IDS = "time_ids";
    /** SDXL's six micro-conditioning numbers. */
    static final int TIME_IDS_COUNT = 6;

    /**
     * @param timeEmbedDim {@code addition_time_embed_dim}: sinusoid size per time id
     * @param inputDim {@code projection_class_embeddings_input_dim}: pooled text width + 6 x timeEmbedDim
     */
    public record Config(int timeEmbedDim, int inputDim) {
        /** The pooled text embedding's width the config implies. */
        public int textEmbedsDim() {
            return inputDim - TIME_IDS_COUNT * timeEmbedDim;
        }

        /** The text_time settings of a UNet config, or null when it has no added embedding. */
        static Config parse(JsonNode n, Path file) throws IOException {
            if (!n.hasNonNull("addition_embed_type")) return null;
            String type = n.get("addition_embed_type").asText();
            if (!type.equals("text_time")) {
                throw new InputFileException(file + ": 'addition_embed_type' " + type + " is not supported (only text_time, SDXL's, or null)");
            }
            if (!n.hasNonNull("addition_time_embed_dim") || !n.hasNonNull("projection_class_embeddings_input_dim")) {
                throw new InputFileException(file + ": 'addition_embed_type' text_time needs 'addition_time_embed_dim' and"
                        + " 'projection_class_embeddings_input_dim'");
            }
            int timeDim = ConfigFiles.integer(n, "addition_time_embed_dim", 0, file);
            int inputDim = ConfigFiles.integer(n, "projection_class_embeddings_input_dim", 0, file);
            if (timeDim <= 0 || timeDim % 2 != 0) {
                throw new InputFileException(file + ": 'addition_time_embed_dim' should be a positive even number, found " + timeDim);
            }
            if (inputDim <= TIME_IDS_COUNT * timeDim) {
                throw new InputFileException(file + ": 'projection_class_embeddings_input_dim' " + inputDim
                        + " leaves no room for the pooled text embedding next to 6 x " + timeDim + " time id features");
            }
            return new Config(timeDim, inputDim);
        }

        /** The weights it adds: {@code add_embedding.linear_1} and {@code linear_2} ({@code add_time_proj} has none). */
        List<Spec> specs(int timeEmbeddingDim) {
            return List.of(
                    new Spec("add_embedding.linear_1.weight", DType.F32, new int[] {timeEmbeddingDim, inputDim}),
                    new Spec("add_embedding.linear_1.bias", DType.F32, new int[] {timeEmbeddingDim}),
                    new Spec("add_embedding.linear_2.weight", DType.F32, new int[] {timeEmbeddingDim, timeEmbeddingDim}),
                    new Spec("add_embedding.linear_2.bias", DType.F32, new int[] {timeEmbeddingDim}));
        }
    }

    private final OnnxGraph g;
    private final Config config;
    private final Value textEmbeds;
    private final Value timeIds;

    private SdxlAddedEmbedding(OnnxGraph g, Config config, Value textEmbeds, Value timeIds) {
        this.g = g;
        this.config = config;
        this.textEmbeds = textEmbeds;
        this.timeIds = timeIds;
    }

    /** Declares the graph inputs {@code text_embeds} (B, pooled) and {@code time_ids} (B, 6), float32. */
    static SdxlAddedEmbedding inputs(OnnxGraph g, Config config) {
        Value text = g.input(TEXT_EMBEDS, TensorProto.DataType.FLOAT_VALUE, "batch_size", config.textEmbedsDim());
        Value time = g.input(TIME_IDS, TensorProto.DataType.FLOAT_VALUE, "batch_size", TIME_IDS_COUNT);
        return new SdxlAddedEmbedding(g, config, text, time);
    }

    /**
     * {@code aug_emb} of diffusers' {@code get_aug_embed} for text_time, in the graph's precision:
     * the sinusoids in float32 (as {@code Timesteps} computes them), then cast, as the text embeds.
     */
    Value embedding(Layers nn, UnetConfig c) {
        int half = config.timeEmbedDim() / 2;
        // time_ids.flatten() -> (B*6, 1) * freqs (1, half) -> [cos, sin] (flip_sin_to_cos) -> reshape (B, 6 * dim)
        Value flat = g.op("Reshape", timeIds, g.longs(-1, 1));
        float[] freqs = UnetGraph.timestepFrequencies(config.timeEmbedDim(), c.freqShift());
        Value args = g.op("Mul", flat, g.constant32(freqs, 1, half));
        Value sin = g.op("Sin", args);
        Value cos = g.op("Cos", args);
        Value sinusoid = g.op("Concat", c.flipSinToCos() ? List.of(cos, sin) : List.of(sin, cos), attr("axis", -1L));
        Value timeEmbeds = g.op("Reshape", sinusoid, g.longs(-1, (long) TIME_IDS_COUNT * config.timeEmbedDim()));
        Value addEmbeds = g.op("Concat", List.of(textEmbeds, timeEmbeds), attr("axis", -1L));
        if (g.isHalf()) addEmbeds = g.cast(addEmbeds, g.floatType());
        Value h = nn.linear(addEmbeds, "add_embedding.linear_1");
        return nn.linear(nn.silu(h), "add_embedding.linear_2");
    }
}
