package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.cli.Main;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.ReferenceRun;
import io.streamdiffusion4j.testing.TensorAssert;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The command line end to end, in-process: the reference run, txt2img, and every error case. */
class CliTest {
    record Result(int exitCode, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    private static List<String> img2img(Path config, Path input, Path output, String... extra) {
        List<String> a = new ArrayList<>(List.of("img2img", "--model", Fixtures.onnxModel().toString(),
                "--taesd", Fixtures.taesd().toString(), "--config", config.toString(),
                "--input", input.toString(), "--output", output.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    private static Path config() {
        return Fixtures.publicRun().resolve("config.json");
    }

    /**
     * Largest output difference observed over the four public runs: 2.3e-5 (the same as
     * ReferenceRunTest's, the CLI runs the same pipeline); tolerance about four times that.
     */
    private static final double RUN_OUTPUT_TOLERANCE = 1e-4;

    static final List<String> RUNS = ReferenceRun.PUBLIC;

    @ParameterizedTest
    @FieldSource("RUNS")
    void img2imgReproducesThePublicRuns(String runName, @TempDir Path out) throws Exception {
        ReferenceRun run = ReferenceRun.named(runName);
        Result r = run(img2img(run.configFile(), Fixtures.frames(), out, "--save-npy").toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("8 frames");
        double worst = 0;
        for (int i = 0; i < 8; i++) {
            String name = String.format("%03d", i);
            assertThat(out.resolve(name + ".png")).exists();
            FloatTensor actual = Npy.readFloats(out.resolve(name + ".npy"));
            assertThat(actual.shape()).containsExactly(64, 64, 3);
            worst = Math.max(worst, TensorAssert.assertClose("frame " + i, actual, run.outputFrame(i), RUN_OUTPUT_TOLERANCE));
        }
        assertThat(out.resolve("008.png")).doesNotExist();
        System.out.printf("CLI img2img, %s: largest output difference %.3g%n", runName, worst);
    }

    @Test
    void txt2imgWritesOneImagePerCallAndFrame(@TempDir Path out) {
        Result r = run("txt2img", "--model", Fixtures.onnxModel().toString(), "--taesd", Fixtures.taesd().toString(),
                "--config", config().toString(), "--cfg-type", "none", "--t-index-list", "0,16,32,45",
                "--frames", "3", "--output", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("warning").contains("mode \"img2img\"");
        assertThat(out.resolve("000.png")).exists();
        assertThat(out.resolve("002.png")).exists();
        assertThat(out.resolve("003.png")).doesNotExist();

        Result turbo = run("txt2img", "--model", Fixtures.onnxModel().toString(), "--taesd", Fixtures.taesd().toString(),
                "--config", config().toString(), "--cfg-type", "none", "--t-index-list", "0", "--frame-buffer-size", "2",
                "--txt2img-method", "sd_turbo", "--frames", "2", "--output", out.resolve("turbo").toString());
        assertThat(turbo.exitCode()).as(turbo.err()).isZero();
        assertThat(out.resolve("turbo/003.png")).exists();
    }

    /** The README's main command: the built-in model, the example frames, no shared folder. */
    @Test
    void readmeMainCommandRunsOnTheBuiltInModel(@TempDir Path out) {
        Result r = run("img2img", "--model", "tiny", "--config", "examples/img2img.json", "--input", "examples/frames",
                "--output", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        for (int i = 0; i < 8; i++) assertThat(out.resolve(String.format("%03d.png", i))).exists();
    }

    @Test
    void modelsCreateThenConvertThenRun(@TempDir Path dir) {
        Result create = run("models", "create", "--config", "tiny", "--seed", "3", "--to", dir.resolve("model").toString());
        assertThat(create.exitCode()).as(create.err()).isZero();
        Result convert = run("convert", "--from", dir.resolve("model").toString(), "--to", dir.resolve("onnx").toString());
        assertThat(convert.exitCode()).as(convert.err()).isZero();
        assertThat(dir.resolve("onnx/unet/model.onnx")).exists();
        assertThat(dir.resolve("onnx/taesd/vae_decoder/model.onnx")).exists();
        Result again = run("convert", "--from", dir.resolve("model").toString(), "--to", dir.resolve("onnx").toString());
        assertThat(again.exitCode()).isNotZero();
        assertThat(again.err()).contains("not empty");
        Result txt = run("txt2img", "--model", dir.resolve("onnx").toString(), "--width", "64", "--height", "64",
                "--frames", "2", "--output", dir.resolve("out").toString());
        assertThat(txt.exitCode()).as(txt.err()).isZero();
        assertThat(dir.resolve("out/001.png")).exists();
        Result bad = run("models", "create", "--config", "sd99", "--to", dir.resolve("x").toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown model configuration 'sd99'");
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[] {"img2img", "txt2img"}) {
            Result r = run(cmd, "--help");
            assertThat(r.exitCode()).isZero();
            assertThat(r.out()).contains("--model").contains("--config").contains("--output");
        }
        assertThat(run("convert", "--help").out()).contains("--from").contains("--lora").contains("--fp16");
        assertThat(run("models", "create", "--help").out()).contains("--config").contains("--seed");
        assertThat(run("--help").out()).contains("img2img").contains("txt2img");
    }

    @Test
    void missingModelFolder(@TempDir Path out) {
        List<String> a = img2img(config(), Fixtures.frames(), out);
        a.set(2, out.resolve("no-such-model").toString());
        Result r = run(a.toArray(String[]::new));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("model not found").contains("no-such-model");
    }

    @Test
    void wrongOnnxSignature(@TempDir Path dir) throws Exception {
        // a model folder whose unet/model.onnx is really a VAE decoder
        Path model = Files.createDirectories(dir.resolve("model"));
        for (String part : List.of("tokenizer", "scheduler", "text_encoder", "vae_encoder", "vae_decoder")) {
            Files.createSymbolicLink(model.resolve(part), Fixtures.onnxModel().resolve(part).toAbsolutePath());
        }
        Files.createDirectories(model.resolve("unet"));
        Files.createSymbolicLink(model.resolve("unet/model.onnx"),
                Fixtures.onnxModel().resolve("vae_decoder/model.onnx").toAbsolutePath());
        List<String> a = img2img(config(), Fixtures.frames(), dir.resolve("out"));
        a.set(2, model.toString());
        Result r = run(a.toArray(String[]::new));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("unet/model.onnx").contains("'sample'").contains("found inputs").contains("latent_sample");
    }

    @Test
    void unreadableOrNonImageInput(@TempDir Path dir) throws Exception {
        Path notImage = dir.resolve("frame.png");
        Files.writeString(notImage, "this is not a PNG");
        Result r = run(img2img(config(), notImage, dir.resolve("out")).toArray(String[]::new));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("not a PNG, JPEG, GIF or BMP image").contains("frame.png");

        Result missing = run(img2img(config(), dir.resolve("nothing-here"), dir.resolve("out")).toArray(String[]::new));
        assertThat(missing.exitCode()).isNotZero();
        assertThat(missing.err()).contains("input not found").contains("nothing-here");

        Path empty = Files.createDirectories(dir.resolve("empty"));
        Files.writeString(empty.resolve("notes.txt"), "no frames");
        Result none = run(img2img(config(), empty, dir.resolve("out")).toArray(String[]::new));
        assertThat(none.exitCode()).isNotZero();
        assertThat(none.err()).contains("no image files");
    }

    @Test
    void badConfigKeysAndValues(@TempDir Path dir) throws Exception {
        String base = Files.readString(config());
        String[][] cases = {
                {base.replace("\"seed\"", "\"sed\""), "unknown key 'sed'"},
                {base.replace("[32, 45]", "[32, 60]"), "t_index_list entry 60"},
                {base.replace("\"self\"", "\"selfish\""), "unknown cfg_type 'selfish'"},
                {base.replace("\"width\": 64", "\"width\": 60"), "width must be a multiple of 8"},
                {"{not json", "not valid JSON"},
        };
        for (String[] c : cases) {
            Path cfg = dir.resolve("config.json");
            Files.writeString(cfg, c[0]);
            Result r = run(img2img(cfg, Fixtures.frames(), dir.resolve("out")).toArray(String[]::new));
            assertThat(r.exitCode()).as(c[1]).isEqualTo(2);
            assertThat(r.err()).as(c[1]).contains(c[1]).contains("config.json");
        }
        Result override = run(img2img(config(), Fixtures.frames(), dir.resolve("out"), "--width", "100")
                .toArray(String[]::new));
        assertThat(override.exitCode()).isEqualTo(2);
        assertThat(override.err()).contains("width must be a multiple of 8, found 100");
        Result missingConfig = run(img2img(dir.resolve("none.json"), Fixtures.frames(), dir.resolve("out"))
                .toArray(String[]::new));
        assertThat(missingConfig.exitCode()).isNotZero();
        assertThat(missingConfig.err()).contains("config file not found").contains("none.json");
    }

    @Test
    void tinyVaeWithoutTaesdFolderIsAnError(@TempDir Path dir) {
        Result r = run("img2img", "--model", Fixtures.onnxModel().toString(), "--config", config().toString(),
                "--input", Fixtures.frames().toString(), "--output", dir.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("use_tiny_vae").contains("--taesd");
    }

    @Test
    void frameCountMustFitTheFrameBuffer(@TempDir Path dir) {
        Result r = run(img2img(config(), Fixtures.frames(), dir, "--frame-buffer-size", "3").toArray(String[]::new));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("8 frame(s)").contains("frame_buffer_size 3");
    }

    @Test
    void unknownOptionIsAUsageError() {
        Result r = run("img2img", "--model", "m", "--input", "i", "--output", "o", "--modle", "x");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--modle");
    }
}
