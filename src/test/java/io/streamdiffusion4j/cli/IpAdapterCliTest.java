package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The IP-Adapter end to end on the built-in tiny model with {@code models create --config tiny-ip-adapter}:
 * a style image changes the frames, another style image changes them otherwise, scale 0 gives the
 * plain run's files byte for byte, and bad options are input errors (exit 2) that say what is wrong.
 */
class IpAdapterCliTest {
    @TempDir
    static Path dir;
    private static Path adapter;
    private static Path frames;

    @BeforeAll
    static void createAdapter() throws Exception {
        adapter = dir.resolve("tiny-ip-adapter");
        CliTest.Result r = CliTest.run("models", "create", "--config", "tiny-ip-adapter", "--to", adapter.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("created tiny-ip-adapter for tiny");
        frames = Files.createDirectories(dir.resolve("frames"));
        for (int i = 0; i < 2; i++) {
            Files.copy(Path.of("examples/frames", String.format("%03d.png", i)), frames.resolve(String.format("%03d.png", i)));
        }
    }

    private static CliTest.Result img2img(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("img2img", "--model", "tiny", "--config", "examples/img2img.json",
                "--width", "64", "--height", "64", "--input", frames.toString(), "--output", out.toString()));
        a.addAll(List.of(extra));
        return CliTest.run(a.toArray(String[]::new));
    }

    private static List<byte[]> run(String name, String... extra) throws Exception {
        Path out = dir.resolve(name);
        CliTest.Result r = img2img(out, extra);
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<byte[]> files = new ArrayList<>();
        for (int i = 0; i < 2; i++) files.add(Files.readAllBytes(out.resolve(String.format("%03d.png", i))));
        return files;
    }

    private static boolean same(List<byte[]> a, List<byte[]> b) {
        for (int i = 0; i < a.size(); i++) if (!Arrays.equals(a.get(i), b.get(i))) return false;
        return true;
    }

    @Test
    void theStyleImageChangesTheFramesAndScaleZeroIsThePlainRun() throws Exception {
        List<byte[]> plain = run("plain");
        List<byte[]> styleA = run("a", "--ip-adapter", adapter + ":0.8", "--style-image", "examples/frames/000.png");
        List<byte[]> styleB = run("b", "--ip-adapter", adapter + ":0.8", "--style-image", "examples/frames/002.png");
        List<byte[]> zero = run("zero", "--ip-adapter", adapter + ":0", "--style-image", "examples/frames/000.png");
        List<byte[]> noStyle = run("nostyle", "--ip-adapter", adapter.toString());
        assertThat(same(styleA, plain)).as("a style image changes the frames").isFalse();
        assertThat(same(styleA, styleB)).as("another style image gives other frames").isFalse();
        assertThat(same(zero, plain)).as("scale 0 is the plain run, byte for byte").isTrue();
        assertThat(same(noStyle, plain)).as("without a style image the adapter adds nothing").isTrue();
    }

    @Test
    void theRunConfigTakesTheSameSettings() throws Exception {
        List<byte[]> options = run("opts", "--ip-adapter", adapter + ":0.6", "--style-image", "examples/frames/001.png");
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(Path.of("examples/img2img.json").toFile());
        config.put("ip_adapter", adapter.toString()).put("ip_adapter_scale", 0.6).put("style_image", "examples/frames/001.png");
        Path file = dir.resolve("ip.json");
        Files.writeString(file, config.toString());
        Path out = dir.resolve("json");
        CliTest.Result r = CliTest.run("img2img", "--model", "tiny", "--config", file.toString(), "--width", "64", "--height", "64",
                "--input", frames.toString(), "--output", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        for (int i = 0; i < 2; i++) {
            assertThat(Files.readAllBytes(out.resolve(String.format("%03d.png", i)))).isEqualTo(options.get(i));
        }
        config.put("ip_adapter_scale", 12);
        Files.writeString(file, config.toString());
        CliTest.Result bad = CliTest.run("img2img", "--model", "tiny", "--config", file.toString(), "--input", frames.toString(),
                "--output", dir.resolve("bad").toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("ip_adapter_scale must be between 0 and 10.0, found 12");
    }

    @Test
    void badOptionsAreInputErrors() throws Exception {
        CliTest.Result noAdapter = img2img(dir.resolve("e1"), "--style-image", "examples/frames/000.png");
        assertThat(noAdapter.exitCode()).isEqualTo(2);
        assertThat(noAdapter.err()).contains("style_image needs ip_adapter");

        CliTest.Result scale = img2img(dir.resolve("e2"), "--ip-adapter", adapter + ":lots");
        assertThat(scale.exitCode()).isEqualTo(2);
        assertThat(scale.err()).contains("the scale after ':' must be a number");

        Path bin = Files.writeString(dir.resolve("ip-adapter_sd15.bin"), "pickle");
        CliTest.Result pickle = img2img(dir.resolve("e3"), "--ip-adapter", bin.toString());
        assertThat(pickle.exitCode()).isEqualTo(2);
        assertThat(pickle.err()).contains(bin.toString()).contains("use the .safetensors file");

        Path notImage = Files.writeString(dir.resolve("style.png"), "not a picture");
        CliTest.Result style = img2img(dir.resolve("e4"), "--ip-adapter", adapter.toString(), "--style-image", notImage.toString());
        assertThat(style.exitCode()).isEqualTo(2);
        assertThat(style.err()).contains(notImage.toString());

        CliTest.Result quantized = img2img(dir.resolve("e6"), "--ip-adapter", adapter.toString(), "--quantize", "int8");
        assertThat(quantized.exitCode()).isEqualTo(2);
        assertThat(quantized.err()).contains("cannot be combined with --quantize");

        CliTest.Result missing = img2img(dir.resolve("e5"), "--ip-adapter", dir.resolve("nowhere").toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("no such IP-Adapter folder or file");
    }

    @Test
    void benchReportsTheAdaptersCostAgainstThePlainStream() {
        CliTest.Result r = CliTest.run("bench", "--model", "tiny", "--size", "64x64", "--experiments", "ip-adapter",
                "--ip-adapter", adapter + ":0.8", "--style-image", "examples/frames/002.png", "--compare-frames", "4",
                "--warmup", "1");
        assertThat(r.exitCode()).as(r.err()).isZero();
        // the baseline is the plain UNet rebuilt the way the adapter's is; the model's own UNet runs beside it
        assertThat(r.out()).contains("IP-Adapter against the plain stream").contains("| plain, rebuilt |")
                .contains("| plain, rebuilt (control) |").contains("| IP-Adapter at 0.8 |")
                .contains("| plain, the model's converted UNet |");

        CliTest.Result missing = CliTest.run("bench", "--model", "tiny", "--size", "64x64", "--experiments", "ip-adapter");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("needs --ip-adapter");
    }
}
