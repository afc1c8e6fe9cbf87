package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.testing.DamagedModels;
import io.streamdiffusion4j.testing.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every file the command line reads, given broken: the run fails with exit code 2 (bad input, as
 * the README promises), and the one error line names the file and the problem, never a bare
 * JDK or parser message ("Input length = 1", "Is a directory").
 */
class InputErrorsCliTest {
    /** The start of an ELF executable: bytes that are not UTF-8 text. */
    private static final byte[] BINARY = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0, 1, 0, 0, 0,
            (byte) 0xc0, (byte) 0xfe, (byte) 0xff, 0, 0, 0};

    record Result(int exitCode, String err) {}

    private static Result run(List<String> args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
        return new Result(code, err.toString());
    }

    private static List<String> img2img(Path model, Path config, Path input, Path output, String... extra) {
        List<String> a = new ArrayList<>(List.of("img2img", "--model", model.toString(), "--taesd", Fixtures.taesd().toString(),
                "--config", config.toString(), "--input", input.toString(), "--output", output.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    private static Path config() {
        return Fixtures.publicRun().resolve("config.json");
    }

    /** Bad input: exit 2, one "error:" line naming the file and saying what is wrong, and no image written. */
    private static void assertBadInput(Result r, Path output, Path file, String... problem) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).as(r.err()).startsWith("error: ").contains(file.toString());
        for (String p : problem) assertThat(r.err()).as(r.err()).contains(p);
        assertThat(r.err()).doesNotContain("Input length = 1").doesNotContain("REDACTED");
        assertThat(output.resolve("000.png")).doesNotExist();
    }

    @Test
    void aBinaryOrFolderOrMissingConfig(@TempDir Path dir) throws Exception {
        Path binary = Files.write(dir.resolve("config.json"), BINARY);
        Path out = dir.resolve("out");
        assertBadInput(run(img2img(Fixtures.onnxModel(), binary, Fixtures.frames(), out)), out, binary,
                "expected a text file", "not UTF-8");
        Path folder = Files.createDirectories(dir.resolve("configs"));
        assertBadInput(run(img2img(Fixtures.onnxModel(), folder, Fixtures.frames(), out)), out, folder, "is a folder");
        assertBadInput(run(img2img(Fixtures.onnxModel(), dir.resolve("none.json"), Fixtures.frames(), out)), out,
                dir.resolve("none.json"), "config file not found");
        Path list = Files.writeString(dir.resolve("list.json"), "[1, 2]");
        assertBadInput(run(img2img(Fixtures.onnxModel(), list, Fixtures.frames(), out)), out, list,
                "expected a JSON object, found a list");
        Path truncated = Files.writeString(dir.resolve("cut.json"), "{\"prompt\": \"a fox\",\n \"width\": ");
        assertBadInput(run(img2img(Fixtures.onnxModel(), truncated, Fixtures.frames(), out)), out, truncated,
                "not valid JSON at line 2");
    }

    @Test
    void badInputImages(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path notImage = Files.writeString(dir.resolve("frame.png"), "this is not a PNG");
        assertBadInput(run(img2img(Fixtures.onnxModel(), config(), notImage, out)), out, notImage, "not a PNG, JPEG, GIF or BMP image");
        Path frames = Files.createDirectories(dir.resolve("frames"));
        Files.copy(Fixtures.frames().resolve("000.png"), frames.resolve("000.png"));
        Path broken = Files.write(frames.resolve("001.png"), BINARY);
        assertBadInput(run(img2img(Fixtures.onnxModel(), config(), frames, out)), out, broken, "not a PNG, JPEG, GIF or BMP image");
        assertBadInput(run(img2img(Fixtures.onnxModel(), config(), dir.resolve("nothing"), out)), out,
                dir.resolve("nothing"), "input not found");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertBadInput(run(img2img(Fixtures.onnxModel(), config(), empty, out)), out, empty, "no image files");
    }

    @Test
    void badSimilarityFilterDraws(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path binary = Files.write(dir.resolve("draws.txt"), BINARY);
        assertBadInput(run(img2img(Fixtures.onnxModel(), config(), Fixtures.frames(), out, "--ssf-draws", binary.toString())),
                out, binary, "not UTF-8");
        Path words = Files.writeString(dir.resolve("words.txt"), "0.5\nhalf\n");
        assertBadInput(run(img2img(Fixtures.onnxModel(), config(), Fixtures.frames(), out, "--ssf-draws", words.toString())),
                out, words, "line 2", "expected a number in [0, 1], found 'half'");
        Path missing = dir.resolve("no-draws.txt");
        assertBadInput(run(img2img(Fixtures.onnxModel(), config(), Fixtures.frames(), out, "--ssf-draws", missing.toString())),
                out, missing, "not found");
    }

    /** One part of the ONNX model replaced; the rest are links to the fixture. */
    private Result withReplacedPart(Path dir, String part, byte[] contents) throws Exception {
        Path model = dir.resolve("model");
        Files.write(DamagedModels.linkedCopy(Fixtures.onnxModel(), model, part), contents);
        return run(img2img(model, config(), Fixtures.frames(), dir.resolve("out")));
    }

    @Test
    void aMalformedTokenizerVocabulary(@TempDir Path dir) throws Exception {
        Result r = withReplacedPart(dir, "tokenizer/vocab.json", "{\"a\": 1,\n".getBytes());
        assertBadInput(r, dir.resolve("out"), dir.resolve("model/tokenizer/vocab.json"), "not valid JSON at line 2");
    }

    @Test
    void aVocabularyWithAWrongId(@TempDir Path dir) throws Exception {
        Result r = withReplacedPart(dir, "tokenizer/vocab.json", "{\"a\": \"one\"}".getBytes());
        assertBadInput(r, dir.resolve("out"), dir.resolve("model/tokenizer/vocab.json"), "the id of 'a' is not an integer");
    }

    @Test
    void binaryTokenizerMerges(@TempDir Path dir) throws Exception {
        Result r = withReplacedPart(dir, "tokenizer/merges.txt", BINARY);
        assertBadInput(r, dir.resolve("out"), dir.resolve("model/tokenizer/merges.txt"), "not UTF-8");
    }

    @Test
    void aBrokenSchedulerConfig(@TempDir Path dir) throws Exception {
        Result r = withReplacedPart(dir, "scheduler/scheduler_config.json", "{\"num_train_timesteps\": \"many\"}".getBytes());
        assertBadInput(r, dir.resolve("out"), dir.resolve("model/scheduler/scheduler_config.json"),
                "'num_train_timesteps' must be an integer");
    }

    @Test
    void aBinaryComponentConfig(@TempDir Path dir) throws Exception {
        Result r = withReplacedPart(dir, "unet/config.json", BINARY);
        assertBadInput(r, dir.resolve("out"), dir.resolve("model/unet/config.json"), "not UTF-8");
    }

    @Test
    void aTruncatedOnnxFile(@TempDir Path dir) throws Exception {
        byte[] whole = Files.readAllBytes(Fixtures.onnxModel().resolve("unet/model.onnx"));
        Result r = withReplacedPart(dir, "unet/model.onnx", java.util.Arrays.copyOf(whole, whole.length / 3));
        assertBadInput(r, dir.resolve("out"), dir.resolve("model/unet/model.onnx"), "cannot read the graph");
    }

    @Test
    void anOnnxFileThatIsAFolder(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        Files.createDirectories(DamagedModels.linkedCopy(Fixtures.onnxModel(), model, "unet/model.onnx"));
        Result r = run(img2img(model, config(), Fixtures.frames(), dir.resolve("out")));
        assertBadInput(r, dir.resolve("out"), model.resolve("unet/model.onnx"), "is not a file");
    }

    /** A diffusers model: a safetensors header that is not JSON, and a LoRA that is not a safetensors file. */
    @Test
    void badSafetensorsAndLoras(@TempDir Path dir) throws Exception {
        Path diffusers = Fixtures.dir().resolve("models/tiny-sd-turbo");
        Path model = dir.resolve("model");
        Path weights = DamagedModels.linkedCopy(diffusers, model, "vae/diffusion_pytorch_model.safetensors");
        byte[] header = "{\"a\": [1, 2".getBytes();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + header.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        Files.write(weights, b.putLong(header.length).put(header).array());
        List<String> args = new ArrayList<>(List.of("txt2img", "--model", model.toString(), "--taesd",
                Fixtures.taesd().toString(), "--width", "64", "--height", "64", "--output", dir.resolve("out").toString()));
        assertBadInput(run(args), dir.resolve("out"), weights, "malformed safetensors header");

        Path lora = Files.write(dir.resolve("style.safetensors"), BINARY);
        List<String> withLora = new ArrayList<>(args);
        withLora.set(2, diffusers.toString());
        withLora.addAll(List.of("--lora", lora.toString()));
        assertBadInput(run(withLora), dir.resolve("out"), lora, "not a safetensors file");
        List<String> missingLora = new ArrayList<>(args);
        missingLora.set(2, diffusers.toString());
        missingLora.addAll(List.of("--lora", dir.resolve("none.safetensors").toString()));
        assertBadInput(run(missingLora), dir.resolve("out"), dir.resolve("none.safetensors"), "LoRA not found");
    }

    @Test
    void aDiffusersModelWithAMalformedModelIndex(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        Path index = DamagedModels.linkedCopy(Fixtures.dir().resolve("models/tiny-sd-turbo"), model, "model_index.json");
        Files.write(index, BINARY);
        Result r = run(List.of("txt2img", "--model", model.toString(), "--taesd", Fixtures.taesd().toString(),
                "--width", "64", "--height", "64", "--output", dir.resolve("out").toString()));
        assertBadInput(r, dir.resolve("out"), index, "not UTF-8");
    }
}
