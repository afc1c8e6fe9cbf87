package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.onnx.ActivationRanges;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Static int8 convolutions: the plan, the rewrite ONNX Runtime fuses, and calibrated TAESD copies. */
class StaticInt8QuantizerTest {
    private static final int C = 8, H = 12;

    /**
     * x -> Conv a -> Relu -> Conv b -> Add(b, relu) -> Relu -> Conv c -> y (the graph output), the
     * shape of a TAESD block: a and b run in int8 with both Relus folded; c writes the graph's
     * output, so it stays float, though its input (the Add's) is uint8.
     */
    private static GraphProto.Builder block() {
        List<NodeProto> nodes = List.of(
                conv("a", "x", "wa", "ya"), node("Relu", "ya", "ra"),
                conv("b", "ra", "wb", "yb"),
                NodeProto.newBuilder().setOpType("Add").setName("add").addInput("yb").addInput("ra").addOutput("s").build(),
                node("Relu", "s", "rs"),
                conv("c", "rs", "wc", "y"));
        return Int8QuantizerTest.graph("block", nodes);
    }

    private static List<Int8QuantizerTest.Weight> weights() {
        Random r = new Random(11);
        List<Int8QuantizerTest.Weight> w = new ArrayList<>();
        for (String n : List.of("a", "b", "c")) {
            w.add(Int8QuantizerTest.floats("w" + n, Int8QuantizerTest.gaussian(r, C * C * 9, 0.15), n.equals("b"), C, C, 3, 3));
            w.add(Int8QuantizerTest.floats("bias" + n, Int8QuantizerTest.gaussian(r, C, 0.1), false, C));
        }
        return w;
    }

    @Test
    void thePlanQuantizesConvolutionsTheirInputsAndOutputsAndFoldsRelus(@TempDir Path dir) throws Exception {
        Int8QuantizerTest.writeModel(dir, block(), weights());
        StaticInt8Quantizer.Plan plan = StaticInt8Quantizer.plan(Int8Quantizer.read(dir.resolve("model.onnx")));
        assertThat(plan.convs()).containsExactly(0, 2);
        assertThat(plan.uint8Ops()).containsExactly(3);
        assertThat(plan.foldedRelus()).containsOnlyKeys(1, 4);
        assertThat(plan.renamedOutputs()).containsExactlyInAnyOrderEntriesOf(Map.of(0, "ra", 3, "rs"));
        assertThat(plan.tensors()).containsExactlyInAnyOrder("x", "ra", "yb", "rs");
        assertThat(plan.int8Made()).containsExactlyInAnyOrder("ra", "yb", "rs");
        assertThat(plan.describe()).startsWith("2 of 3 Conv layers in int8");
    }

    @Test
    void anAddWithAFloatInputStaysFloatAndAConvReadingTheGraphInputStillQuantizesIt(@TempDir Path dir) throws Exception {
        // y = Conv(x) + x: the Add's second input is made by no int8 node and read as float
        List<NodeProto> nodes = List.of(conv("a", "x", "wa", "ya"),
                NodeProto.newBuilder().setOpType("Add").setName("add").addInput("ya").addInput("x").addOutput("y").build());
        Random r = new Random(2);
        Int8QuantizerTest.writeModel(dir, Int8QuantizerTest.graph("g", nodes), List.of(
                Int8QuantizerTest.floats("wa", Int8QuantizerTest.gaussian(r, C * C * 9, 0.1), false, C, C, 3, 3),
                Int8QuantizerTest.floats("biasa", new float[C], false, C)));
        StaticInt8Quantizer.Plan plan = StaticInt8Quantizer.plan(Int8Quantizer.read(dir.resolve("model.onnx")));
        assertThat(plan.convs()).containsExactly(0);
        assertThat(plan.uint8Ops()).isEmpty();
        assertThat(plan.tensors()).containsExactlyInAnyOrder("x", "ya");
        assertThat(plan.int8Made()).containsExactly("ya");
    }

    /**
     * The rewritten block runs on ONNX Runtime as fused QLinearConv and QLinearAdd with no Relu
     * left, and stays close to float: the output error is a few steps of the quantized tensors
     * (measured: SNR printed; the bound below is what three uint8 stages of 255 steps allow).
     */
    @Test
    void theRewriteFusesIntoQLinearOpsAndStaysCloseToFloat(@TempDir Path dir) throws Exception {
        Path src = dir.resolve("float");
        Int8QuantizerTest.writeModel(src, block(), weights());
        Path model = src.resolve("model.onnx");
        StaticInt8Quantizer.Plan plan = StaticInt8Quantizer.plan(Int8Quantizer.read(model));
        Random r = new Random(4);
        List<float[]> inputs = new ArrayList<>();
        for (int i = 0; i < 4; i++) inputs.add(Int8QuantizerTest.gaussian(r, C * H * H, 1));
        long[] shape = {1, C, H, H};
        var measured = ActivationRanges.measure(model, plan.tensors(), inputs, shape);
        assertThat(measured.ranges()).containsOnlyKeys(plan.tensors());
        assertThat(measured.ranges().get("ra").min()).isZero(); // a Relu's output
        Int8Quantizer.Policy convsOnly = new Int8Quantizer.Policy(Int8Quantizer.Policy.NEVER, Int8Quantizer.Policy.NEVER);
        Int8Quantizer.Report report = Int8Quantizer.quantizeFile(model, dir.resolve("int8"), convsOnly,
                new Int8Quantizer.StaticConvs(plan, measured.ranges()));
        assertThat(report.staticConvs()).startsWith("2 of 3");
        Path int8 = dir.resolve("int8/model.onnx");
        assertThat(Int8QuantizerTest.opTypes(int8)).doesNotContain("Relu").contains("QuantizeLinear", "DequantizeLinear");
        List<String> fused = Int8QuantizerTest.optimizedOpTypes(int8, dir.resolve("int8.opt.onnx"));
        assertThat(fused).filteredOn(op -> op.equals("QLinearConv")).hasSize(2);
        assertThat(fused).contains("QLinearAdd").doesNotContain("Relu");

        float[] x = Int8QuantizerTest.gaussian(new Random(9), C * H * H, 1); // not a calibration input
        float[] f = Int8QuantizerTest.runShaped(model, x, shape);
        float[] q = Int8QuantizerTest.runShaped(int8, x, shape);
        double signal = 0, noise = 0;
        for (int i = 0; i < f.length; i++) {
            signal += f[i] * f[i];
            noise += (f[i] - q[i]) * (f[i] - q[i]);
        }
        double snr = 10 * Math.log10(signal / noise);
        System.out.printf("static int8 block against float: SNR %.1f dB%n", snr);
        assertThat(snr).isGreaterThan(30);
    }

    @Test
    void rangesMapToUint8ScalesWithZeroExact() {
        StaticInt8Quantizer.Params p = new StaticInt8Quantizer.Range(-1, 3).params();
        assertThat(p.scale()).isEqualTo(4f / 255);
        assertThat(p.zeroPoint()).isEqualTo(64); // round(1 / (4 / 255)) = round(63.75)
        assertThat(new StaticInt8Quantizer.Range(0.5f, 2).params()).isEqualTo(new StaticInt8Quantizer.Params(2f / 255, 0));
        assertThat(new StaticInt8Quantizer.Range(-2, -1).params().zeroPoint()).isEqualTo(255);
        assertThat(new StaticInt8Quantizer.Range(0, 0).params()).isEqualTo(new StaticInt8Quantizer.Params(1, 0));
        assertThat(new StaticInt8Quantizer.Range(-1, 1).union(new StaticInt8Quantizer.Range(0, 5)))
                .isEqualTo(new StaticInt8Quantizer.Range(-1, 5));
    }

    /** The fixture's TAESD (an export from elsewhere, Constant nodes and all) as an int8 copy: the convolutions fused, round trip close to float. */
    @Test
    void aTaesdCopyHasEveryConvolutionInInt8AndDecodesCloseToFloat(@TempDir Path dir) throws Exception {
        Path to = dir.resolve("int8");
        TaesdQuantizer.Report r = TaesdQuantizer.quantizedCopy(Fixtures.taesd(), to);
        for (String part : List.of(r.encoder(), r.decoder())) {
            Matcher m = Pattern.compile("(\\d+) of (\\d+) Conv layers in int8 .*").matcher(part);
            assertThat(m.matches()).as(part).isTrue();
            // all but the last, whose output is the model's (latents, pixels) and stays float
            assertThat(Integer.parseInt(m.group(1))).as(part).isEqualTo(Integer.parseInt(m.group(2)) - 1);
        }
        assertThat(Files.readString(to.resolve("quantization.json"))).contains(TaesdQuantizer.calibration());
        assertThat(to.resolve("vae_decoder/config.json")).hasSameBinaryContentAs(Fixtures.taesd().resolve("vae_decoder/config.json"));
        List<String> fused = Int8QuantizerTest.optimizedOpTypes(to.resolve("vae_decoder/model.onnx"), dir.resolve("dec.opt.onnx"),
                "latent_sample");
        assertThat(fused).filteredOn(op -> op.equals("QLinearConv")).hasSize(34);

        int size = 64;
        float[] image = CalibrationImages.generate(1, size, size, 123).getFirst(); // not a calibration picture
        float[] latentF = Int8QuantizerTest.runShaped(Fixtures.taesd().resolve("vae_encoder/model.onnx"), image, new long[] {1, 3, size, size}, "sample");
        float[] latentQ = Int8QuantizerTest.runShaped(to.resolve("vae_encoder/model.onnx"), image, new long[] {1, 3, size, size}, "sample");
        long[] latentShape = {1, 4, size / 8, size / 8};
        float[] f = Int8QuantizerTest.runShaped(Fixtures.taesd().resolve("vae_decoder/model.onnx"), latentF, latentShape, "latent_sample");
        float[] q = Int8QuantizerTest.runShaped(to.resolve("vae_decoder/model.onnx"), latentQ, latentShape, "latent_sample");
        double signal = 0, noise = 0;
        for (int i = 0; i < f.length; i++) {
            signal += f[i] * f[i];
            noise += (f[i] - q[i]) * (f[i] - q[i]);
        }
        double snr = 10 * Math.log10(signal / noise);
        // measured 16.0 dB: this TAESD has random weights, and the error of 34 uint8 layers adds up
        // (sdxs's random TAESD: 23-25 dB; a trained one is still to be measured); a broken rewrite is near 0
        System.out.printf("TAESD int8 encode+decode against float on the fixture: SNR %.1f dB%n", snr);
        assertThat(snr).isGreaterThan(12);
    }

    private static NodeProto conv(String name, String in, String w, String out) {
        return NodeProto.newBuilder().setOpType("Conv").setName(name).addInput(in).addInput(w).addInput("bias" + name).addOutput(out)
                .addAttribute(AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS)
                        .addAllInts(List.of(1L, 1L, 1L, 1L)))
                .build();
    }

    private static NodeProto node(String op, String in, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(op + "_" + out).addInput(in).addOutput(out).build();
    }
}
