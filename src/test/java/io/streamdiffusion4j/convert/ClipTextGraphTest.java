package io.streamdiffusion4j.convert;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.OrtRunner;
import io.streamdiffusion4j.testing.TensorAssert;
import io.streamdiffusion4j.text.ClipTokenizer;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLIP text encoder built in Java from the fixture's safetensors agrees with the fixture's Optimum export. */
class ClipTextGraphTest {
    private static Path weightsFile;
    private static ClipTextConfig config;
    private static int[][] ids;

    @BeforeAll
    static void setUp() throws Exception {
        Path folder = Fixtures.dir().resolve("models/tiny-sd-turbo/text_encoder");
        weightsFile = folder.resolve("model.safetensors");
        config = ClipTextConfig.read(folder.resolve("config.json"));
        ClipTokenizer tokenizer = ClipTokenizer.load(Fixtures.onnxModel().resolve("tokenizer"));
        ids = new int[][] {
            tokenizer.encode("a watercolor painting of a fox in a snowy forest"),
            tokenizer.encode("hi!! a red car, cinematic lighting"),
        };
    }

    private static Path reference() {
        return Fixtures.onnxModel().resolve("text_encoder/model.onnx");
    }

    private static Path write(OnnxGraph g, Path dir) throws Exception {
        OnnxWriter.write(g, dir, null);
        return dir.resolve("model.onnx");
    }

    private static Path build(Path weights, ClipTextConfig c, boolean half, Path dir) throws Exception {
        try (SafeTensors w = SafeTensors.open(weights)) {
            return write(ClipTextGraph.build(w, c, half), dir);
        }
    }

    @Test
    void readsTheConfig() {
        assertThat(config.hiddenSize()).isEqualTo(16);
        assertThat(config.numHiddenLayers()).isEqualTo(2);
        assertThat(config.numAttentionHeads()).isEqualTo(2);
        assertThat(config.hiddenAct()).isEqualTo("gelu");
        assertThat(config.legacyPooling()).isTrue();
    }

    @Test
    void matchesTheOptimumExport(@TempDir Path dir) throws Exception {
        Path ours = build(weightsFile, config, false, dir);
        var a = OrtRunner.run(ours, Map.of("input_ids", ids));
        var b = OrtRunner.run(reference(), Map.of("input_ids", ids));
        assertThat(a.get("last_hidden_state").shape()).containsExactly(2, 77, 16);
        assertThat(a.get("pooler_output").shape()).containsExactly(2, 16);
        double h = assertClose("last_hidden_state", a.get("last_hidden_state"), b.get("last_hidden_state"), 1e-4);
        double p = assertClose("pooler_output", a.get("pooler_output"), b.get("pooler_output"), 1e-4);
        System.out.printf("CLIP text encoder vs Optimum export: last_hidden_state %.2e, pooler_output %.2e%n", h, p);

        // a shorter sequence (dynamic length, mask and positions cut to it)
        int[][] shortIds = new int[2][];
        for (int r = 0; r < 2; r++) shortIds[r] = Arrays.copyOf(ids[r], 12);
        var c = OrtRunner.run(ours, Map.of("input_ids", shortIds));
        var d = OrtRunner.run(reference(), Map.of("input_ids", shortIds));
        assertThat(c.get("last_hidden_state").shape()).containsExactly(2, 12, 16);
        assertClose("last_hidden_state (12 tokens)", c.get("last_hidden_state"), d.get("last_hidden_state"), 1e-4);
        assertClose("pooler_output (12 tokens)", c.get("pooler_output"), d.get("pooler_output"), 1e-4);
    }

    @Test
    void poolsAtTheFirstEndOfTextTokenWhenEosIsNotTheLegacyId(@TempDir Path dir) throws Exception {
        // eos_token_id 49407: the first 49407, the same position argmax(ids) finds for CLIP's vocabulary
        ClipTextConfig modern = new ClipTextConfig(16, 64, 2, 2, 77, 49408, "gelu", 1e-5, 49407);
        var a = OrtRunner.run(build(weightsFile, modern, false, dir.resolve("a")), Map.of("input_ids", ids));
        var b = OrtRunner.run(reference(), Map.of("input_ids", ids));
        assertClose("pooler_output (eos 49407)", a.get("pooler_output"), b.get("pooler_output"), 1e-4);

        // an eos id that is not the largest: the rules now differ, and this one takes its first occurrence
        int eos = ids[0][2];
        int[][] withEos = {ids[0].clone(), ids[1].clone()};
        withEos[1][5] = eos;
        withEos[1][9] = eos;
        int[] expectedPos = new int[2];
        for (int r = 0; r < 2; r++) {
            int i = 0;
            while (withEos[r][i] != eos) i++;
            expectedPos[r] = i;
        }
        assertThat(expectedPos).containsExactly(2, 5);
        ClipTextConfig other = new ClipTextConfig(16, 64, 2, 2, 77, 49408, "gelu", 1e-5, eos);
        var out = OrtRunner.run(build(weightsFile, other, false, dir.resolve("b")), Map.of("input_ids", withEos));
        FloatTensor hidden = out.get("last_hidden_state");
        float[] pooled = out.get("pooler_output").data();
        for (int r = 0; r < 2; r++) {
            float[] row = Arrays.copyOfRange(hidden.data(), (r * 77 + expectedPos[r]) * 16, (r * 77 + expectedPos[r] + 1) * 16);
            assertClose("pooled row " + r, Arrays.copyOfRange(pooled, r * 16, r * 16 + 16), row, 0);
        }
    }

    @Test
    void quickGeluVariantDiffersOnlyInTheActivation(@TempDir Path dir) throws Exception {
        OnnxGraph gelu;
        OnnxGraph quick;
        try (SafeTensors w = SafeTensors.open(weightsFile)) {
            gelu = ClipTextGraph.build(w, config, false);
            quick = ClipTextGraph.build(w, config.withHiddenAct("quick_gelu"), false);
            write(quick, dir.resolve("quick"));
        }
        List<String> geluOps = activationsMarked(gelu, List.of("Div", "Erf", "Add", "Mul", "Mul"));
        List<String> quickOps = activationsMarked(quick, List.of("Mul", "Sigmoid", "Mul"));
        assertThat(geluOps).isEqualTo(quickOps);
        assertThat(geluOps.stream().filter("ACT"::equals).count()).isEqualTo(config.numHiddenLayers());
        assertThat(quick.weights().stream().map(OnnxGraph.Weight::name).toList())
                .isEqualTo(gelu.weights().stream().map(OnnxGraph.Weight::name).toList());

        var a = OrtRunner.run(dir.resolve("quick/model.onnx"), Map.of("input_ids", ids));
        var b = OrtRunner.run(reference(), Map.of("input_ids", ids));
        assertThat(TensorAssert.maxAbsDiff(a.get("last_hidden_state").data(), b.get("last_hidden_state").data()))
                .isGreaterThan(1e-4);
    }

    /** Op types of the graph in order, with each activation (the ops between fc1's bias Add and fc2's MatMul) as ACT. */
    private static List<String> activationsMarked(OnnxGraph g, List<String> pattern) {
        List<String> ops = new ArrayList<>();
        for (NodeProto n : g.nodes()) ops.add(n.getOpType());
        List<String> out = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            if (i + pattern.size() <= ops.size() && ops.subList(i, i + pattern.size()).equals(pattern)
                    && i > 0 && ops.get(i - 1).equals("Add") && i + pattern.size() < ops.size()
                    && ops.get(i + pattern.size()).equals("MatMul")) {
                out.add("ACT");
                i += pattern.size() - 1;
            } else {
                out.add(ops.get(i));
            }
        }
        return out;
    }

    @Test
    void acceptsWeightsWithoutTheTextModelPrefix(@TempDir Path dir) throws Exception {
        Path renamed = dir.resolve("renamed.safetensors");
        copyRenamed(weightsFile, renamed, n -> n.startsWith("text_model.") ? n.substring("text_model.".length()) : n, null);
        var a = OrtRunner.run(build(renamed, config, false, dir.resolve("a")), Map.of("input_ids", ids));
        var b = OrtRunner.run(build(weightsFile, config, false, dir.resolve("b")), Map.of("input_ids", ids));
        assertClose("last_hidden_state", a.get("last_hidden_state"), b.get("last_hidden_state"), 0);
        assertClose("pooler_output", a.get("pooler_output"), b.get("pooler_output"), 0);
    }

    @Test
    void aMissingTensorIsNamedWithTheFile(@TempDir Path dir) throws Exception {
        Path broken = dir.resolve("broken.safetensors");
        String gone = "text_model.encoder.layers.1.mlp.fc2.weight";
        copyRenamed(weightsFile, broken, UnaryOperator.identity(), gone);
        try (SafeTensors w = SafeTensors.open(broken)) {
            assertThatThrownBy(() -> ClipTextGraph.build(w, config, false))
                    .hasMessageContaining(broken.toString())
                    .hasMessageContaining(gone);
        }
    }

    @Test
    void configErrorsNameTheFileAndKey(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, "{\"hidden_size\": 16, \"num_attention_heads\": 2, \"hidden_act\": \"relu\"}");
        assertThatThrownBy(() -> ClipTextConfig.read(file)).hasMessageContaining(file.toString()).hasMessageContaining("hidden_act");
        Files.writeString(file, "{\"hidden_size\": \"wide\"}");
        assertThatThrownBy(() -> ClipTextConfig.read(file)).hasMessageContaining(file.toString()).hasMessageContaining("hidden_size");
    }

    @Test
    void halfVariantRunsOnOnnxRuntime(@TempDir Path dir) throws Exception {
        var a = OrtRunner.run(build(weightsFile, config, true, dir), Map.of("input_ids", ids));
        var b = OrtRunner.run(reference(), Map.of("input_ids", ids));
        double h = TensorAssert.maxAbsDiff(a.get("last_hidden_state").data(), b.get("last_hidden_state").data());
        double p = TensorAssert.maxAbsDiff(a.get("pooler_output").data(), b.get("pooler_output").data());
        System.out.printf("CLIP text encoder float16 vs float32 export: last_hidden_state %.2e, pooler_output %.2e%n", h, p);
        assertClose("last_hidden_state (float16)", a.get("last_hidden_state"), b.get("last_hidden_state"), 5e-2);
        assertClose("pooler_output (float16)", a.get("pooler_output"), b.get("pooler_output"), 5e-2);
    }

    /** Copies a safetensors file with renamed tensors, leaving out {@code drop} (may be null). */
    static void copyRenamed(Path from, Path to, UnaryOperator<String> rename, String drop) throws Exception {
        List<SafeTensors.Tensor> tensors = new ArrayList<>();
        try (SafeTensors s = SafeTensors.open(from)) {
            for (String n : s.names()) {
                if (n.equals(drop)) continue;
                tensors.add(new SafeTensors.Tensor(rename.apply(n), DType.F32, s.shape(n), s.floats(n)));
            }
        }
        SafeTensors.write(to, tensors, null);
    }
}
