package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.checkpoint.OriginalCheckpoints;
import io.streamdiffusion4j.convert.LoraMerge.Component;
import io.streamdiffusion4j.convert.LoraMerge.LoraFile;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.SafeTensors.Tensor;
import io.streamdiffusion4j.weights.WeightSource;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA merging: merged weights equal W + scale * alpha / rank * (B @ A) computed here with plain
 * loops, for the diffusers/PEFT, older diffusers and kohya key formats.
 */
class LoraMergeTest {
    static final String TO_Q = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";
    static final String TO_OUT = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0";
    static final String PROJ_IN = "down_blocks.0.attentions.0.proj_in";
    static final String CONV1 = "down_blocks.0.resnets.0.conv1";
    static final String TE_Q = "text_model.encoder.layers.0.self_attn.q_proj";
    static final String TE_FC1 = "text_model.encoder.layers.0.mlp.fc1";

    @TempDir
    Path dir;
    Path unet;
    Path textEncoder;

    /** A small UNet: to_q [8, 6], to_out.0 [6, 8] + bias, proj_in as a 1x1 conv [6, 6, 1, 1], conv1 [5, 3, 3, 3]. */
    @BeforeEach
    void writeBase() throws Exception {
        unet = dir.resolve("unet.safetensors");
        SafeTensors.write(unet, List.of(
                t(TO_Q + ".weight", 1, 8, 6),
                t(TO_OUT + ".weight", 2, 6, 8),
                t(TO_OUT + ".bias", 3, 6),
                t(PROJ_IN + ".weight", 4, 6, 6, 1, 1),
                t(CONV1 + ".weight", 5, 5, 3, 3, 3)), Map.of("format", "pt"));
        textEncoder = dir.resolve("te.safetensors");
        SafeTensors.write(textEncoder, List.of(
                t(TE_Q + ".weight", 6, 4, 4),
                t(TE_FC1 + ".weight", 7, 10, 4)), null);
    }

    @Test
    void peftFormatMergesLinearAndConv() throws Exception {
        Tensor qA = t("unet." + TO_Q + ".lora_A.weight", 11, 2, 6);
        Tensor qB = t("unet." + TO_Q + ".lora_B.weight", 12, 8, 2);
        Tensor cA = t("unet." + CONV1 + ".lora_A.weight", 13, 3, 3, 3, 3);
        Tensor cB = t("unet." + CONV1 + ".lora_B.weight", 14, 5, 3, 1, 1);
        Path lora = lora("peft", List.of(qA, qB, cA, cB, scalar("unet." + TO_Q + ".alpha", DType.F32, 3f)));

        try (WeightSource base = SafeTensors.open(unet);
             LoraMerge merged = merge(unet, Component.UNET, List.of(new LoraFile(lora, 0.7)))) {
            assertClose("to_q", merged.floats(TO_Q + ".weight"),
                    expected(base.floats(TO_Q + ".weight"), qB.values(), qA.values(), 8, 2, 0.7 * 3 / 2), 1e-6);
            assertClose("conv1", merged.floats(CONV1 + ".weight"),
                    expected(base.floats(CONV1 + ".weight"), cB.values(), cA.values(), 5, 3, 0.7), 1e-6);
            for (String untouched : List.of(TO_OUT + ".weight", TO_OUT + ".bias", PROJ_IN + ".weight")) {
                assertThat(merged.floats(untouched)).as(untouched).containsExactly(base.floats(untouched));
            }
            assertThat(merged.mergedWeights()).containsExactly(TO_Q + ".weight", CONV1 + ".weight");
            assertThat(merged.names()).isEqualTo(base.names());
            assertThat(merged.shape(CONV1 + ".weight")).containsExactly(5, 3, 3, 3);
        }
    }

    @Test
    void kohyaFormatWithAlphaAndScale() throws Exception {
        String q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
        String c = "lora_unet_down_blocks_0_resnets_0_conv1";
        String p = "lora_unet_down_blocks_0_attentions_0_proj_in";
        // F16 like latent-consistency/lcm-lora-sdv1-5 (values are rounded to F16 on writing, so
        // the expectation reads them back from the file).
        // proj_in's alpha is int64, as diffusers' convert_state_dict_to_kohya writes it.
        Path lora = loraWithInt64("kohya", List.of(
                t(q + ".lora_down.weight", DType.F16, 21, 4, 6), t(q + ".lora_up.weight", DType.F16, 22, 8, 4),
                scalar(q + ".alpha", DType.F16, 1f),
                t(c + ".lora_down.weight", DType.F16, 23, 2, 3, 3, 3), t(c + ".lora_up.weight", DType.F16, 24, 5, 2, 1, 1),
                scalar(c + ".alpha", DType.F16, 8f),
                t(p + ".lora_down.weight", DType.F16, 25, 3, 6, 1, 1), t(p + ".lora_up.weight", DType.F16, 26, 6, 3, 1, 1)),
                Map.of(p + ".alpha", 6L));

        try (SafeTensors l = SafeTensors.open(lora); WeightSource base = SafeTensors.open(unet);
             LoraMerge merged = merge(unet, Component.UNET,
                     List.of(LoraFile.parse(lora + ":1.5")))) {
            assertClose("to_q", merged.floats(TO_Q + ".weight"), expected(base.floats(TO_Q + ".weight"),
                    l.floats(q + ".lora_up.weight"), l.floats(q + ".lora_down.weight"), 8, 4, 1.5 * 1 / 4), 1e-6);
            assertClose("conv1", merged.floats(CONV1 + ".weight"), expected(base.floats(CONV1 + ".weight"),
                    l.floats(c + ".lora_up.weight"), l.floats(c + ".lora_down.weight"), 5, 2, 1.5 * 8 / 2), 1e-6);
            assertClose("proj_in", merged.floats(PROJ_IN + ".weight"), expected(base.floats(PROJ_IN + ".weight"),
                    l.floats(p + ".lora_up.weight"), l.floats(p + ".lora_down.weight"), 6, 3, 1.5 * 6 / 3), 1e-6);
            assertThat(merged.floats(TO_OUT + ".weight")).containsExactly(base.floats(TO_OUT + ".weight"));
        }
    }

    @Test
    void olderDiffusersNamesAndLinearLoraOnAOneByOneConv() throws Exception {
        // Attention-processor names (to_out_lora is to_out.0), no component prefix, and the
        // LoRACompatibleConv style ".lora.down.weight" with a Linear-shaped pair on a 1x1 conv.
        Tensor oA = t("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.down.weight", 31, 2, 8);
        Tensor oB = t("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight", 32, 6, 2);
        Tensor pA = t("unet." + PROJ_IN + ".lora.down.weight", 33, 2, 6);
        Tensor pB = t("unet." + PROJ_IN + ".lora.up.weight", 34, 6, 2);
        Path lora = lora("old", List.of(oA, oB, pA, pB));
        try (WeightSource base = SafeTensors.open(unet);
             LoraMerge merged = merge(unet, Component.UNET, List.of(new LoraFile(lora)))) {
            assertClose("to_out.0", merged.floats(TO_OUT + ".weight"),
                    expected(base.floats(TO_OUT + ".weight"), oB.values(), oA.values(), 6, 2, 1.0), 1e-6);
            assertClose("proj_in", merged.floats(PROJ_IN + ".weight"),
                    expected(base.floats(PROJ_IN + ".weight"), pB.values(), pA.values(), 6, 2, 1.0), 1e-6);
        }
    }

    @Test
    void twoLorasAddUp() throws Exception {
        Tensor a1 = t("unet." + TO_Q + ".lora_A.weight", 41, 2, 6);
        Tensor b1 = t("unet." + TO_Q + ".lora_B.weight", 42, 8, 2);
        String q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
        Tensor a2 = t(q + ".lora_down.weight", 43, 3, 6);
        Tensor b2 = t(q + ".lora_up.weight", 44, 8, 3);
        Path first = lora("first", List.of(a1, b1));
        Path second = lora("second", List.of(a2, b2, scalar(q + ".alpha", DType.F32, 1.5f)));
        try (WeightSource base = SafeTensors.open(unet);
             LoraMerge merged = merge(unet, Component.UNET,
                     List.of(new LoraFile(first, 0.5), new LoraFile(second, -2.0)))) {
            float[] w = base.floats(TO_Q + ".weight");
            double[] d1 = delta(b1.values(), a1.values(), 8, 2, 0.5 * 2 / 2);
            double[] d2 = delta(b2.values(), a2.values(), 8, 3, -2.0 * 1.5 / 3);
            float[] want = new float[w.length];
            for (int i = 0; i < w.length; i++) want[i] = (float) (w[i] + d1[i] + d2[i]);
            assertClose("to_q", merged.floats(TO_Q + ".weight"), want, 1e-6);
            assertThat(merged.reports()).extracting(LoraMerge.Report::mergedCount).containsExactly(1, 1);
        }
    }

    @Test
    void textEncoderKeysInBothFormats() throws Exception {
        Tensor qA = t("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", 51, 2, 4);
        Tensor qB = t("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", 52, 4, 2);
        Tensor fA = t("text_encoder." + TE_FC1 + ".lora_linear_layer.down.weight", 53, 3, 4);
        Tensor fB = t("text_encoder." + TE_FC1 + ".lora_linear_layer.up.weight", 54, 10, 3);
        Tensor uA = t("unet." + TO_Q + ".lora_A.weight", 55, 2, 6);
        Tensor uB = t("unet." + TO_Q + ".lora_B.weight", 56, 8, 2);
        Path lora = lora("te-lora", List.of(qA, qB, scalar("lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha",
                DType.F32, 4f), fA, fB, uA, uB));
        try (WeightSource base = SafeTensors.open(textEncoder);
             LoraMerge te = merge(textEncoder, Component.TEXT_ENCODER,
                     List.of(new LoraFile(lora, 0.8)));
             LoraMerge un = merge(unet, Component.UNET, List.of(new LoraFile(lora, 0.8)))) {
            assertClose("q_proj", te.floats(TE_Q + ".weight"),
                    expected(base.floats(TE_Q + ".weight"), qB.values(), qA.values(), 4, 2, 0.8 * 4 / 2), 1e-6);
            assertClose("fc1", te.floats(TE_FC1 + ".weight"),
                    expected(base.floats(TE_FC1 + ".weight"), fB.values(), fA.values(), 10, 3, 0.8), 1e-6);
            assertThat(te.reports().getFirst().otherComponentKeys()).containsExactlyInAnyOrder(uA.name(), uB.name());
            assertThat(un.mergedWeights()).containsExactly(TO_Q + ".weight");
            LoraMerge.requireEffect(List.of(te, un));
            assertThat(LoraMerge.unusedKeys(List.of(te, un))).isEmpty();
            assertThat(LoraMerge.unusedKeys(List.of(un)).get(lora.toAbsolutePath().normalize())).hasSize(5);
            assertThat(LoraMerge.summary(List.of(un, te))).contains("1 UNet weight", "2 text encoder weights");
        }
    }

    @Test
    void aLoraForAnotherComponentChangesNothingAndIsReported() throws Exception {
        Path lora = lora("te-only", List.of(
                t("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", 61, 2, 4),
                t("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", 62, 4, 2)));
        try (WeightSource base = SafeTensors.open(unet);
             LoraMerge un = merge(unet, Component.UNET, List.of(new LoraFile(lora)))) {
            assertThat(un.mergedWeights()).isEmpty();
            assertThat(un.floats(TO_Q + ".weight")).containsExactly(base.floats(TO_Q + ".weight"));
            assertThatThrownBy(() -> LoraMerge.requireEffect(List.of(un)))
                    .hasMessageContaining(lora.toString())
                    .hasMessageContaining("changes no weight of the UNet")
                    .hasMessageContaining("lora_te_text_model_encoder_layers_0_self_attn_q_proj");
            assertThat(LoraMerge.unusedKeys(List.of(un))).hasSize(1);
            assertThat(LoraMerge.summary(List.of(un))).contains("0 UNet weights", "2 keys unused");
        }
    }

    @Test
    void keyMatchingNoWeightIsAnError() throws Exception {
        String key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_q.lora_down.weight";
        Path lora = lora("unknown", List.of(t(key, 71, 2, 6),
                t("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_q.lora_up.weight", 72, 8, 2)));
        assertThatThrownBy(() -> merge(unet, Component.UNET, List.of(new LoraFile(lora))))
                .hasMessageContaining(lora.toString())
                .hasMessageContaining(key)
                .hasMessageContaining("matches no weight of the UNet");
        Path dotted = lora("unknown-dotted", List.of(t("unet.mid_block.attentions.0.proj_in.lora_A.weight", 73, 2, 6),
                t("unet.mid_block.attentions.0.proj_in.lora_B.weight", 74, 6, 2)));
        assertThatThrownBy(() -> merge(unet, Component.UNET, List.of(new LoraFile(dotted))))
                .hasMessageContaining("unet.mid_block.attentions.0.proj_in.lora_")
                .hasMessageContaining("matches no weight");
    }

    @Test
    void shapeMismatchIsAnErrorWithExpectedAndFoundShapes() throws Exception {
        Path badUp = lora("bad-up", List.of(t("unet." + TO_Q + ".lora_A.weight", 81, 2, 6),
                t("unet." + TO_Q + ".lora_B.weight", 82, 7, 2)));
        assertThatThrownBy(() -> merge(unet, Component.UNET, List.of(new LoraFile(badUp))))
                .hasMessageContaining(badUp.toString())
                .hasMessageContaining("unet." + TO_Q + ".lora_B.weight")
                .hasMessageContaining("expected an up (B) weight of shape [8, 2]")
                .hasMessageContaining("found [7, 2]");
        String c = "lora_unet_down_blocks_0_resnets_0_conv1";
        Path badDown = lora("bad-down", List.of(t(c + ".lora_down.weight", 83, 2, 3, 1, 1),
                t(c + ".lora_up.weight", 84, 5, 2, 1, 1)));
        assertThatThrownBy(() -> merge(unet, Component.UNET, List.of(new LoraFile(badDown))))
                .hasMessageContaining(c + ".lora_down.weight")
                .hasMessageContaining("expected a down (A) weight of shape [2, 3, 3, 3]")
                .hasMessageContaining("found [2, 3, 1, 1]");
    }

    @Test
    void malformedAndUnsupportedFilesAreErrors() throws Exception {
        Path missingUp = lora("missing-up", List.of(t("unet." + TO_Q + ".lora_A.weight", 91, 2, 6)));
        assertThatThrownBy(() -> merge(unet, Component.UNET, List.of(new LoraFile(missingUp))))
                .hasMessageContaining("unet." + TO_Q + ".lora_A.weight")
                .hasMessageContaining("no matching up (B)");
        Path dora = lora("dora", List.of(t("unet." + TO_Q + ".lora_A.weight", 92, 2, 6),
                t("unet." + TO_Q + ".lora_B.weight", 93, 8, 2), t("unet." + TO_Q + ".lora_magnitude_vector", 94, 8)));
        assertThatThrownBy(() -> merge(unet, Component.UNET, List.of(new LoraFile(dora))))
                .hasMessageContaining("DoRA");
        Path notLora = lora("not-lora", List.of(t(TO_Q + ".weight", 95, 8, 6)));
        assertThatThrownBy(() -> merge(unet, Component.UNET, List.of(new LoraFile(notLora))))
                .hasMessageContaining("is not a LoRA tensor");
    }

    @Test
    void diffusersAdapterMetadataGivesAlpha() throws Exception {
        Tensor qA = t("unet." + TO_Q + ".lora_A.weight", 101, 2, 6);
        Tensor qB = t("unet." + TO_Q + ".lora_B.weight", 102, 8, 2);
        Tensor cA = t("unet." + CONV1 + ".lora_A.weight", 103, 2, 3, 3, 3);
        Tensor cB = t("unet." + CONV1 + ".lora_B.weight", 104, 5, 2, 1, 1);
        Path lora = dir.resolve("meta.safetensors");
        SafeTensors.write(lora, List.of(qA, qB, cA, cB), Map.of("format", "pt", "lora_adapter_metadata",
                "{\"unet.r\": 2, \"unet.lora_alpha\": 4, \"unet.alpha_pattern\": {\"resnets.0.conv1\": 1}}"));
        try (WeightSource base = SafeTensors.open(unet);
             LoraMerge merged = merge(unet, Component.UNET, List.of(new LoraFile(lora)))) {
            assertClose("to_q", merged.floats(TO_Q + ".weight"),
                    expected(base.floats(TO_Q + ".weight"), qB.values(), qA.values(), 8, 2, 4.0 / 2), 1e-6);
            assertClose("conv1", merged.floats(CONV1 + ".weight"),
                    expected(base.floats(CONV1 + ".weight"), cB.values(), cA.values(), 5, 2, 1.0 / 2), 1e-6);
        }
    }

    /** The underscore mapping on the fixture's real UNet names, and original-SD (LDM) block names. */
    @Test
    void kohyaNamesResolveAgainstTheFixtureUnet() throws Exception {
        Path fixture = Fixtures.dir().resolve("models/tiny-sd-turbo/unet/diffusion_pytorch_model.safetensors");
        String q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
        String ldmProj = "lora_unet_input_blocks_4_1_proj_in";           // down_blocks.1.attentions.0.proj_in
        String ldmConv = "lora_unet_output_blocks_3_0_in_layers_2";      // up_blocks.1.resnets.0.conv1
        String ldmUp = "lora_unet_output_blocks_2_1_conv";               // up_blocks.0.upsamplers.0.conv
        String ldmMid = "lora_unet_middle_block_1_transformer_blocks_0_attn1_to_k"; // mid_block.attentions.0...
        String comfy = "diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_v"; // ComfyUI dotted LDM names
        try (SafeTensors base = SafeTensors.open(fixture)) {
            int[] conv1 = base.shape("up_blocks.1.resnets.0.conv1.weight");   // [32, 64, 3, 3]
            int[] upConv = base.shape("up_blocks.0.upsamplers.0.conv.weight");
            Tensor qA = t(q + ".lora_down.weight", 111, 4, 16);
            Tensor qB = t(q + ".lora_up.weight", 112, 16, 4);
            Path lora = lora("fixture", List.of(qA, qB, scalar(q + ".alpha", DType.F32, 2f),
                    t(ldmProj + ".lora_down.weight", 113, 2, 16), t(ldmProj + ".lora_up.weight", 114, 16, 2),
                    t(ldmConv + ".lora_down.weight", 115, 2, conv1[1], 3, 3),
                    t(ldmConv + ".lora_up.weight", 116, conv1[0], 2, 1, 1),
                    t(ldmUp + ".lora_down.weight", 117, 2, upConv[1], 3, 3),
                    t(ldmUp + ".lora_up.weight", 118, upConv[0], 2, 1, 1),
                    t(ldmMid + ".lora_down.weight", 119, 2, 32), t(ldmMid + ".lora_up.weight", 120, 32, 2),
                    t(comfy + ".lora_down.weight", 121, 2, 16), t(comfy + ".lora_up.weight", 122, 16, 2)));
            try (LoraMerge merged = merge(fixture, Component.UNET,
                    List.of(new LoraFile(lora, 0.9)))) {
                String w = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight";
                assertClose("to_q", merged.floats(w), expected(base.floats(w), qB.values(), qA.values(), 16, 4, 0.9 * 2 / 4), 1e-6);
                assertThat(merged.mergedWeights()).containsExactlyInAnyOrder(w,
                        "down_blocks.1.attentions.0.proj_in.weight",
                        "up_blocks.1.resnets.0.conv1.weight",
                        "up_blocks.0.upsamplers.0.conv.weight",
                        "mid_block.attentions.0.transformer_blocks.0.attn1.to_k.weight",
                        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v.weight");
                String untouched = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight";
                assertThat(merged.floats(untouched)).containsExactly(base.floats(untouched));
            }
            String beyond = "lora_unet_input_blocks_13_1_proj_in";  // SD 1.5 has input blocks 0..11
            Path bad = lora("fixture-bad", List.of(t(beyond + ".lora_down.weight", 123, 2, 16),
                    t(beyond + ".lora_up.weight", 124, 16, 2)));
            assertThatThrownBy(() -> merge(fixture, Component.UNET, List.of(new LoraFile(bad))))
                    .hasMessageContaining(beyond + ".lora_")
                    .hasMessageContaining("original-SD block name, read as diffusers 'down_blocks_4_attentions_0_proj_in'");
        }
    }

    /**
     * kohya keys with SGM (SDXL) block names against a UNet with SDXL's block structure (weights
     * of 4x4, named as diffusers names them): numbered by that UNet's own layout, three levels,
     * transformer depth 10, {@code label_emb}.
     */
    @Test
    void kohyaOriginalNamesResolveAgainstAnSdxlShapedUnet() throws Exception {
        Path base = dir.resolve("sdxl-shaped.safetensors");
        List<Tensor> weights = new ArrayList<>();
        long seed = 200;
        for (String n : OriginalCheckpoints.sdxlUnetWeightNames()) {
            weights.add(n.endsWith(".weight") ? t(n, seed++, 4, 4) : t(n, seed++, 4));
        }
        SafeTensors.write(base, weights, Map.of("format", "pt"));
        String deep = "lora_unet_input_blocks_7_1_transformer_blocks_9_attn2_to_k";  // down_blocks.2.attentions.0...9
        String up = "lora_unet_output_blocks_0_1_transformer_blocks_9_attn1_to_q";   // up_blocks.0.attentions.0...9
        String added = "lora_unet_label_emb_0_0";                                     // add_embedding.linear_1
        Tensor dA = t(deep + ".lora_down.weight", 301, 2, 4);
        Tensor dB = t(deep + ".lora_up.weight", 302, 4, 2);
        Path lora = lora("sdxl", List.of(dA, dB, t(up + ".lora_down.weight", 303, 2, 4),
                t(up + ".lora_up.weight", 304, 4, 2), t(added + ".lora_down.weight", 305, 2, 4),
                t(added + ".lora_up.weight", 306, 4, 2), scalar(added + ".alpha", DType.F32, 1f),
                t("lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", 307, 2, 4)));
        try (SafeTensors b = SafeTensors.open(base); LoraMerge merged = merge(base, Component.UNET, List.of(new LoraFile(lora)))) {
            String w = "down_blocks.2.attentions.0.transformer_blocks.9.attn2.to_k.weight";
            assertThat(merged.mergedWeights()).containsExactlyInAnyOrder(w,
                    "up_blocks.0.attentions.0.transformer_blocks.9.attn1.to_q.weight", "add_embedding.linear_1.weight");
            assertClose("to_k", merged.floats(w), expected(b.floats(w), dB.values(), dA.values(), 4, 2, 1.0), 1e-6);
        }
        String shallow = "lora_unet_input_blocks_1_1_proj_in";   // SDXL's first level has no attention
        Path bad = lora("sdxl-bad", List.of(t(shallow + ".lora_down.weight", 308, 2, 4), t(shallow + ".lora_up.weight", 309, 4, 2)));
        assertThatThrownBy(() -> merge(base, Component.UNET, List.of(new LoraFile(bad))))
                .hasMessageContaining("original-SD block name that does not fit this UNet's layout");
    }

    @Test
    void parsesFileAndScale() {
        assertThat(LoraFile.parse("lcm.safetensors")).isEqualTo(new LoraFile(Path.of("lcm.safetensors"), 1.0));
        assertThat(LoraFile.parse("dir/lcm.safetensors:0.5")).isEqualTo(new LoraFile(Path.of("dir/lcm.safetensors"), 0.5));
        assertThat(LoraFile.parse("style.safetensors:-1e-1").scale()).isEqualTo(-0.1);
        assertThat(LoraFile.parse("C:\\loras\\a.safetensors").file()).isEqualTo(Path.of("C:\\loras\\a.safetensors"));
        assertThat(LoraFile.parse("C:\\loras\\a.safetensors:2").scale()).isEqualTo(2.0);
        assertThatThrownBy(() -> LoraFile.parse("a.safetensors:")).hasMessageContaining("FILE[:SCALE]");
        assertThatThrownBy(() -> LoraFile.parse(" ")).hasMessageContaining("FILE[:SCALE]");
    }

    // ---------------------------------------------------------------------------------------

    /** Merges into a base file; the base is closed with the result, or at once when merging fails. */
    private static LoraMerge merge(Path base, Component component, List<LoraFile> loras) throws Exception {
        SafeTensors b = SafeTensors.open(base);
        try {
            return LoraMerge.apply(b, component, loras);
        } catch (Exception e) {
            b.close();
            throw e;
        }
    }

    private Path lora(String name, List<Tensor> tensors) throws Exception {
        Path p = dir.resolve(name + ".safetensors");
        SafeTensors.write(p, tensors, Map.of("format", "pt"));
        return p;
    }

    private static Tensor t(String name, long seed, int... shape) {
        return t(name, DType.F32, seed, shape);
    }

    private static Tensor t(String name, DType dtype, long seed, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return new Tensor(name, dtype, shape, v);
    }

    private static Tensor scalar(String name, DType dtype, float value) {
        return new Tensor(name, dtype, new int[0], new float[] {value});
    }

    /** Writes float tensors plus int64 scalars (which SafeTensors.write does not store) by hand. */
    private Path loraWithInt64(String name, List<Tensor> tensors, Map<String, Long> ints) throws Exception {
        var header = new java.util.LinkedHashMap<String, Object>();
        header.put("__metadata__", Map.of("format", "pt"));
        var data = new java.io.ByteArrayOutputStream();
        for (Tensor t : tensors) {
            ByteBuffer b = ByteBuffer.allocate(t.values().length * t.dtype().size()).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : t.values()) {
                if (t.dtype() == DType.F16) b.putShort(Float.floatToFloat16(v)); else b.putFloat(v);
            }
            header.put(t.name(), Map.of("dtype", t.dtype().safetensorsName(), "shape", t.shape(),
                    "data_offsets", List.of(data.size(), data.size() + b.capacity())));
            data.write(b.array());
        }
        for (var e : ints.entrySet()) {
            header.put(e.getKey(), Map.of("dtype", "I64", "shape", new int[0],
                    "data_offsets", List.of(data.size(), data.size() + 8)));
            data.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(e.getValue()).array());
        }
        byte[] h = new ObjectMapper().writeValueAsBytes(header);
        Path p = dir.resolve(name + ".safetensors");
        try (var os = Files.newOutputStream(p)) {
            os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            os.write(h);
            data.writeTo(os);
        }
        return p;
    }

    /** (up [out, r] @ down [r, cols]) * factor, in double with plain loops. */
    private static double[] delta(float[] up, float[] down, int out, int r, double factor) {
        int cols = down.length / r;
        double[] d = new double[out * cols];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (int k = 0; k < r; k++) s += (double) up[o * r + k] * down[k * cols + j];
                d[o * cols + j] = factor * s;
            }
        }
        return d;
    }

    private static float[] expected(float[] w, float[] up, float[] down, int out, int r, double factor) {
        double[] d = delta(up, down, out, r, factor);
        float[] e = new float[w.length];
        for (int i = 0; i < w.length; i++) e[i] = (float) (w[i] + d[i]);
        return e;
    }
}
