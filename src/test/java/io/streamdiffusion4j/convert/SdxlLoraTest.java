package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.convert.LoraMerge.Component;
import io.streamdiffusion4j.convert.LoraMerge.LoraFile;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.SafeTensors.Spec;
import io.streamdiffusion4j.weights.WeightFiles;
import io.streamdiffusion4j.weights.WeightSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kohya-format SDXL LoRA (the layout of SDXL LoRAs from kohya's sd-scripts: {@code lora_unet_}
 * with original-SD block names, {@code lora_te1_} and {@code lora_te2_} for the two text encoders)
 * merged into the tiny SDXL model: every component gets {@code W + scale * alpha / rank * B A},
 * the UNet's original block names numbered by SDXL's layout (input_blocks.4 = down block 1's first
 * resnet and attention, since down block 0 has no attention), and a converted model with it differs
 * from the plain one in all three components.
 */
class SdxlLoraTest {
    private static final int RANK = 2;
    private static final double ALPHA = 4;
    private static final double SCALE = 0.5;

    @TempDir
    static Path dir;
    static Path model;
    static Path lora;
    static final Map<String, float[]> values = new LinkedHashMap<>();

    // module (kohya stem) -> the diffusers weight it must change, and its [out, in]
    static final String UNET_KEY = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q";
    static final String UNET_WEIGHT = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight";
    static final String TE1_KEY = "lora_te1_text_model_encoder_layers_0_self_attn_q_proj";
    static final String TE1_WEIGHT = "text_model.encoder.layers.0.self_attn.q_proj.weight";
    static final String TE2_KEY = "lora_te2_text_model_encoder_layers_1_mlp_fc1";
    static final String TE2_WEIGHT = "text_model.encoder.layers.1.mlp.fc1.weight";

    @BeforeAll
    static void create() throws Exception {
        model = dir.resolve("tiny-sdxl");
        RandomModels.create(ModelPreset.TINY_SDXL, 0, model, null);
        List<Spec> specs = new ArrayList<>();
        lowRank(specs, UNET_KEY, 32, 32);
        lowRank(specs, TE1_KEY, 16, 16);
        lowRank(specs, TE2_KEY, 128, 32);
        lora = dir.resolve("sdxl-lora.safetensors");
        SafeTensors.write(lora, specs, s -> values.get(s.name()), Map.of());
    }

    private static void lowRank(List<Spec> specs, String key, int out, int in) {
        SplittableRandom r = new SplittableRandom(key.hashCode());
        float[] down = new float[RANK * in];
        float[] up = new float[out * RANK];
        for (int i = 0; i < down.length; i++) down[i] = (float) r.nextGaussian();
        for (int i = 0; i < up.length; i++) up[i] = (float) r.nextGaussian();
        specs.add(new Spec(key + ".lora_down.weight", DType.F32, new int[] {RANK, in}));
        specs.add(new Spec(key + ".lora_up.weight", DType.F32, new int[] {out, RANK}));
        specs.add(new Spec(key + ".alpha", DType.F32, new int[] {}));
        values.put(key + ".lora_down.weight", down);
        values.put(key + ".lora_up.weight", up);
        values.put(key + ".alpha", new float[] {(float) ALPHA});
    }

    private static float[] expected(float[] w, String key, int out, int in) {
        float[] down = values.get(key + ".lora_down.weight");
        float[] up = values.get(key + ".lora_up.weight");
        float[] e = w.clone();
        double f = SCALE * ALPHA / RANK;
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < RANK; k++) s += up[o * RANK + k] * down[k * in + i];
                e[o * in + i] = (float) (w[o * in + i] + f * s);
            }
        }
        return e;
    }

    private static void check(String folder, Component component, String key, String weight, int out, int in) throws Exception {
        try (WeightSource base = WeightFiles.openFolder(model.resolve(folder));
             LoraMerge merged = LoraMerge.apply(base, component, List.of(new LoraFile(lora, SCALE)))) {
            assertClose(weight, merged.floats(weight), expected(base.floats(weight), key, out, in), 1e-5);
            assertThat(merged.reports().getFirst().mergedCount()).as(component + " merged modules").isEqualTo(1);
        }
    }

    @Test
    void eachComponentMergesItsKeys() throws Exception {
        check("unet", Component.UNET, UNET_KEY, UNET_WEIGHT, 32, 32);
        check("text_encoder", Component.TEXT_ENCODER, TE1_KEY, TE1_WEIGHT, 16, 16);
        check("text_encoder_2", Component.TEXT_ENCODER_2, TE2_KEY, TE2_WEIGHT, 128, 32);
    }

    @Test
    void conversionWithTheLoraChangesAllThreeComponents() throws Exception {
        Path plain = dir.resolve("plain");
        Path merged = dir.resolve("merged");
        DiffusersConverter.convert(model, plain, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        DiffusersConverter.convert(model, merged, new DiffusersConverter.Options(false, List.of(new LoraFile(lora, SCALE))),
                DiffusersConverter.Progress.NONE);
        for (String c : List.of("unet", "text_encoder", "text_encoder_2")) {
            assertThat(java.nio.file.Files.mismatch(plain.resolve(c + "/model.onnx_data"), merged.resolve(c + "/model.onnx_data")))
                    .as(c).isNotEqualTo(-1L);
        }
        assertThat(java.nio.file.Files.mismatch(plain.resolve("vae_decoder/model.onnx_data"),
                merged.resolve("vae_decoder/model.onnx_data"))).isEqualTo(-1L);
    }
}
