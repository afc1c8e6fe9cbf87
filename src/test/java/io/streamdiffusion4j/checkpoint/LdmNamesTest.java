package io.streamdiffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.WeightFiles;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Original-checkpoint (LDM / SGM) names against diffusers names: the block numbering as a
 * function of the UNet layout, for the SD 1.x fixture and for SDXL's layout (three levels, no
 * attention in the first, transformer depths 1 / 2 / 10 in the config, {@code label_emb}). The
 * SDXL names are checked against names of the SGM checkpoint format written out here, and in a
 * round trip through the test's own inverse mapping ({@link OriginalCheckpoints#ldmUnet}) over
 * every module of an SDXL-shaped UNet; no SDXL model is converted or run (that converter does
 * not exist yet).
 */
class LdmNamesTest {
    private static final Path CONFIG = Path.of("unet/config.json");

    /** The block structure of stabilityai/sdxl-turbo's (and SDXL 1.0's) unet/config.json. */
    private static final String SDXL_CONFIG = """
            {"_class_name": "UNet2DConditionModel", "addition_embed_type": "text_time",
             "addition_time_embed_dim": 256, "block_out_channels": [320, 640, 1280],
             "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
             "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
             "layers_per_block": 2, "transformer_layers_per_block": [1, 2, 10],
             "projection_class_embeddings_input_dim": 2816, "cross_attention_dim": 2048}
            """;

    private static UnetLayout sdxl() throws Exception {
        return UnetLayout.fromConfig(new ObjectMapper().readTree(SDXL_CONFIG), CONFIG);
    }

    private static UnetLayout fixture() throws Exception {
        JsonNode config = new ObjectMapper().readTree(OriginalCheckpoints.TINY.resolve("unet/config.json").toFile());
        return UnetLayout.fromConfig(config, CONFIG);
    }

    @Test
    void sdxlLayoutFromItsConfig() throws Exception {
        UnetLayout l = sdxl();
        assertThat(l.layersPerBlock()).containsExactly(2, 2, 2);
        assertThat(l.downDepth()).containsExactly(0, 2, 10);
        assertThat(l.upDepth()).containsExactly(10, 2, 0);
        assertThat(l.midDepth()).isEqualTo(10);
        assertThat(l.addEmbedding()).isTrue();
        // the layout read off the weight names of such a UNet is the same
        assertThat(UnetLayout.fromWeightNames(OriginalCheckpoints.sdxlUnetWeightNames())).isEqualTo(l);
    }

    @Test
    void fixtureLayoutFromConfigAndFromWeights() throws Exception {
        UnetLayout l = fixture();
        assertThat(l.layersPerBlock()).containsExactly(2, 2, 2, 2);
        assertThat(l.downDepth()).containsExactly(1, 1, 1, 0);
        assertThat(l.upDepth()).containsExactly(0, 1, 1, 1);
        assertThat(l.midDepth()).isEqualTo(1);
        assertThat(l.addEmbedding()).isFalse();
        try (WeightFiles unet = WeightFiles.openFolder(OriginalCheckpoints.TINY.resolve("unet"))) {
            assertThat(UnetLayout.fromWeightNames(unet.names())).isEqualTo(l);
        }
    }

    /** Names of an SGM SDXL checkpoint ({@code model.diffusion_model.} removed) and their diffusers names. */
    @Test
    void sdxlUnetNames() throws Exception {
        LdmNames names = new LdmNames(sdxl());
        String[][] pairs = {
                {"input_blocks.0.0.weight", "conv_in.weight"},
                {"time_embed.0.weight", "time_embedding.linear_1.weight"},
                {"time_embed.2.bias", "time_embedding.linear_2.bias"},
                {"label_emb.0.0.weight", "add_embedding.linear_1.weight"},
                {"label_emb.0.2.bias", "add_embedding.linear_2.bias"},
                {"input_blocks.1.0.in_layers.2.weight", "down_blocks.0.resnets.0.conv1.weight"},
                {"input_blocks.2.0.emb_layers.1.bias", "down_blocks.0.resnets.1.time_emb_proj.bias"},
                {"input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight"},
                {"input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight"},
                {"input_blocks.4.1.proj_in.weight", "down_blocks.1.attentions.0.proj_in.weight"},
                {"input_blocks.5.1.transformer_blocks.1.attn2.to_k.weight",
                        "down_blocks.1.attentions.1.transformer_blocks.1.attn2.to_k.weight"},
                {"input_blocks.6.0.op.bias", "down_blocks.1.downsamplers.0.conv.bias"},
                {"input_blocks.7.1.transformer_blocks.9.ff.net.0.proj.weight",
                        "down_blocks.2.attentions.0.transformer_blocks.9.ff.net.0.proj.weight"},
                {"input_blocks.8.0.out_layers.3.weight", "down_blocks.2.resnets.1.conv2.weight"},
                {"middle_block.0.in_layers.0.weight", "mid_block.resnets.0.norm1.weight"},
                {"middle_block.1.transformer_blocks.9.attn1.to_out.0.bias",
                        "mid_block.attentions.0.transformer_blocks.9.attn1.to_out.0.bias"},
                {"middle_block.2.out_layers.0.bias", "mid_block.resnets.1.norm2.bias"},
                {"output_blocks.0.1.transformer_blocks.9.norm3.weight",
                        "up_blocks.0.attentions.0.transformer_blocks.9.norm3.weight"},
                {"output_blocks.2.2.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"},
                {"output_blocks.3.0.skip_connection.bias", "up_blocks.1.resnets.0.conv_shortcut.bias"},
                {"output_blocks.5.1.transformer_blocks.1.attn1.to_v.weight",
                        "up_blocks.1.attentions.2.transformer_blocks.1.attn1.to_v.weight"},
                {"output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias"},
                {"output_blocks.6.0.in_layers.2.weight", "up_blocks.2.resnets.0.conv1.weight"},
                {"output_blocks.8.0.out_layers.3.weight", "up_blocks.2.resnets.2.conv2.weight"},
                {"out.0.weight", "conv_norm_out.weight"},
                {"out.2.bias", "conv_out.bias"},
        };
        for (String[] p : pairs) assertThat(names.unet(p[0])).as(p[0]).isEqualTo(p[1]);

        // parts SDXL does not have
        for (String absent : List.of(
                "input_blocks.1.1.proj_in.weight",                          // the first level has no attention
                "input_blocks.9.0.op.weight",                               // nor the last level a downsampler
                "input_blocks.7.1.transformer_blocks.10.attn1.to_q.weight", // depth 10: blocks 0..9
                "input_blocks.4.1.transformer_blocks.2.attn1.to_q.weight",  // depth 2
                "middle_block.1.transformer_blocks.10.attn1.to_q.weight",
                "output_blocks.6.1.proj_in.weight",                         // the last up block has no attention
                "output_blocks.8.1.conv.weight",                            // nor an upsampler
                "output_blocks.1.2.conv.weight",                            // upsamplers sit on a block's last layer
                "output_blocks.3.1.conv.weight",                            // child 1 of up block 1 is its attention
                "input_blocks.4.1.proj.weight",                             // not an attention part
                "input_blocks.1.0.in_layers.1.weight",                      // not a ResBlock part
                "input_blocks.1.0.in_layers.2.running_mean")) {             // not a weight or bias
            assertThat(names.unet(absent)).as(absent).isNull();
        }
        // SD 1.x has no label_emb
        assertThat(new LdmNames(fixture()).unet("label_emb.0.0.weight")).isNull();
    }

    /** Every module of an SDXL-shaped UNet, through the test's inverse mapping and back. */
    @Test
    void sdxlRoundTripOverEveryWeight() throws Exception {
        LdmNames names = new LdmNames(sdxl());
        Set<String> diffusers = OriginalCheckpoints.sdxlUnetWeightNames();
        Set<String> original = new LinkedHashSet<>();
        for (String d : diffusers) {
            String ldm = OriginalCheckpoints.ldmUnet(d, 2, Set.of(0, 1));
            assertThat(original.add(ldm)).as("two weights named " + ldm).isTrue();
            assertThat(names.unet(ldm)).as(ldm).isEqualTo(d);
            if (d.endsWith(".weight")) {   // kohya's underscored module paths
                String module = ldm.substring(0, ldm.length() - ".weight".length()).replace('.', '_');
                String expected = d.substring(0, d.length() - ".weight".length()).replace('.', '_');
                assertThat(names.unetModule(module)).as(module).isEqualTo(expected);
            }
        }
        assertThat(original).contains("label_emb.0.0.weight", "input_blocks.8.1.transformer_blocks.9.attn2.to_k.weight",
                "output_blocks.5.2.conv.weight").doesNotContain("input_blocks.9.0.op.weight");
    }

    @Test
    void sd1FixtureRoundTripAndKohyaNames() throws Exception {
        LdmNames names = new LdmNames(fixture());
        try (WeightFiles unet = WeightFiles.openFolder(OriginalCheckpoints.TINY.resolve("unet"))) {
            for (String d : unet.names()) {
                String ldm = OriginalCheckpoints.ldmUnet(d, 2, Set.of(1, 2, 3));
                assertThat(names.unet(ldm)).as(ldm).isEqualTo(d);
            }
        }
        assertThat(names.unetModule("input_blocks_4_1_proj_in")).isEqualTo("down_blocks_1_attentions_0_proj_in");
        assertThat(names.unetModule("output_blocks_3_0_in_layers_2")).isEqualTo("up_blocks_1_resnets_0_conv1");
        assertThat(names.unetModule("output_blocks_2_1_conv")).isEqualTo("up_blocks_0_upsamplers_0_conv");
        assertThat(names.unetModule("output_blocks_5_2_conv")).isEqualTo("up_blocks_1_upsamplers_0_conv");
        assertThat(names.unetModule("middle_block_1_transformer_blocks_0_attn1_to_k"))
                .isEqualTo("mid_block_attentions_0_transformer_blocks_0_attn1_to_k");
        assertThat(names.unetModule("time_embed_0")).isEqualTo("time_embedding_linear_1");
        assertThat(names.unetModule("out_2")).isEqualTo("conv_out");
        assertThat(names.unetModule("input_blocks_10_1_proj_in")).isNull();    // the last level has no attention
        assertThat(names.unetModule("input_blocks_12_0_op")).isNull();         // nor a downsampler
        // past the layout the numbering goes on, so a LoRA for a deeper UNet is named as such
        assertThat(names.unetModule("input_blocks_13_1_proj_in")).isEqualTo("down_blocks_4_attentions_0_proj_in");
        assertThat(names.unetModule("output_blocks_12_1_proj_in")).isEqualTo("up_blocks_4_attentions_0_proj_in");
        assertThat(LdmNames.isOriginalUnetModule("input_blocks_1_1_proj_in")).isTrue();
        assertThat(LdmNames.isOriginalUnetModule("label_emb_0_0")).isTrue();
        assertThat(LdmNames.isOriginalUnetModule("down_blocks_0_resnets_0_conv1")).isFalse();
    }

    @Test
    void sdxlKohyaNames() throws Exception {
        LdmNames names = new LdmNames(sdxl());
        assertThat(names.unetModule("input_blocks_4_1_transformer_blocks_1_attn1_to_q"))
                .isEqualTo("down_blocks_1_attentions_0_transformer_blocks_1_attn1_to_q");
        assertThat(names.unetModule("label_emb_0_0")).isEqualTo("add_embedding_linear_1");
        assertThat(names.unetModule("label_emb_0_2")).isEqualTo("add_embedding_linear_2");
        assertThat(names.unetModule("output_blocks_2_2_conv")).isEqualTo("up_blocks_0_upsamplers_0_conv");
        assertThat(names.unetModule("input_blocks_1_1_proj_in")).isNull();
    }

    @Test
    void vaeAndTextNames() {
        assertThat(LdmNames.vae("encoder.down.1.block.0.nin_shortcut.weight", 4))
                .isEqualTo("encoder.down_blocks.1.resnets.0.conv_shortcut.weight");
        assertThat(LdmNames.vae("decoder.up.0.block.2.conv1.bias", 4)).isEqualTo("decoder.up_blocks.3.resnets.2.conv1.bias");
        assertThat(LdmNames.vae("decoder.up.3.upsample.conv.weight", 4)).isEqualTo("decoder.up_blocks.0.upsamplers.0.conv.weight");
        assertThat(LdmNames.vae("decoder.up.4.upsample.conv.weight", 4)).isNull();
        assertThat(LdmNames.vae("encoder.mid.attn_1.proj_out.weight", 4))
                .isEqualTo("encoder.mid_block.attentions.0.to_out.0.weight");
        assertThat(LdmNames.isVaeAttentionMatrix("encoder.mid_block.attentions.0.to_out.0.weight")).isTrue();
        assertThat(LdmNames.isVaeAttentionMatrix("encoder.mid_block.attentions.0.group_norm.weight")).isFalse();
        assertThat(LdmNames.text("embeddings.token_embedding.weight")).isEqualTo("text_model.embeddings.token_embedding.weight");
        assertThat(LdmNames.text("text_model.embeddings.position_ids")).isNull();
    }

    @Test
    void configsWithoutOriginalNamesAreNamed() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertThatThrownBy(() -> UnetLayout.fromConfig(json.readTree("{\"down_block_types\": [\"SimpleCrossAttnDownBlock2D\"],"
                + " \"up_block_types\": [\"UpBlock2D\"]}"), CONFIG))
                .isInstanceOf(InputFileException.class).hasMessageContaining("unet/config.json")
                .hasMessageContaining("SimpleCrossAttnDownBlock2D");
        assertThatThrownBy(() -> UnetLayout.fromConfig(json.readTree("{\"layers_per_block\": [2, 2]}"), CONFIG))
                .hasMessageContaining("'layers_per_block' should be an integer or a list of 4 integers");
        assertThatThrownBy(() -> UnetLayout.fromConfig(json.readTree("{\"addition_embed_type\": \"image\"}"), CONFIG))
                .hasMessageContaining("'addition_embed_type'");
        assertThatThrownBy(() -> UnetLayout.fromWeightNames(Set.of("conv_in.weight")))
                .hasMessageContaining("not a diffusers UNet");
    }

    /** The OpenCLIP text tower names, as diffusers' convert_open_clip_checkpoint (loaders/single_file_utils.py) maps them. */
    @Test
    void openClipTextTowerNames() {
        assertThat(LdmNames.openClipText("transformer.resblocks.7.attn.in_proj_weight")).containsExactly(
                new LdmNames.OpenClipTarget("text_model.encoder.layers.7.self_attn.q_proj.weight", LdmNames.Take.FIRST_THIRD),
                new LdmNames.OpenClipTarget("text_model.encoder.layers.7.self_attn.k_proj.weight", LdmNames.Take.SECOND_THIRD),
                new LdmNames.OpenClipTarget("text_model.encoder.layers.7.self_attn.v_proj.weight", LdmNames.Take.LAST_THIRD));
        assertThat(LdmNames.openClipText("transformer.resblocks.0.attn.in_proj_bias")).extracting(LdmNames.OpenClipTarget::name)
                .containsExactly("text_model.encoder.layers.0.self_attn.q_proj.bias",
                        "text_model.encoder.layers.0.self_attn.k_proj.bias", "text_model.encoder.layers.0.self_attn.v_proj.bias");
        assertThat(LdmNames.openClipText("transformer.resblocks.31.mlp.c_fc.weight")).containsExactly(
                new LdmNames.OpenClipTarget("text_model.encoder.layers.31.mlp.fc1.weight", LdmNames.Take.WHOLE));
        assertThat(LdmNames.openClipText("transformer.resblocks.2.ln_2.bias")).extracting(LdmNames.OpenClipTarget::name)
                .containsExactly("text_model.encoder.layers.2.layer_norm2.bias");
        assertThat(LdmNames.openClipText("transformer.resblocks.2.attn.out_proj.weight")).extracting(LdmNames.OpenClipTarget::name)
                .containsExactly("text_model.encoder.layers.2.self_attn.out_proj.weight");
        assertThat(LdmNames.openClipText("positional_embedding")).extracting(LdmNames.OpenClipTarget::name)
                .containsExactly("text_model.embeddings.position_embedding.weight");
        assertThat(LdmNames.openClipText("text_projection")).containsExactly(
                new LdmNames.OpenClipTarget("text_projection.weight", LdmNames.Take.TRANSPOSED));
        assertThat(LdmNames.openClipText("logit_scale")).isEmpty();
        assertThat(LdmNames.openClipText("attn_mask")).isEmpty();
        assertThat(LdmNames.openClipText("transformer.resblocks.2.attn.qkv.weight")).isNull();
        assertThat(LdmNames.openClipText("visual.conv1.weight")).isNull();
    }
}
