package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ControlNet and an IP-Adapter in one run, end to end on the built-in tiny model with the
 * {@code tiny-controlnet} and {@code tiny-ip-adapter} presets: {@code img2img --controlnet CN:0.8
 * --control-preprocessor canny --ip-adapter IP --style-image X} writes 8 frames that differ from
 * the runs with either alone; turning one off (scale 0) gives the other's run byte for byte; the
 * run config takes the same pair.
 */
class ControlNetIpAdapterCliTest {
    @TempDir
    static Path dir;
    private static Path cn;
    private static Path ip;

    @BeforeAll
    static void createPresets() {
        cn = dir.resolve("cn");
        ip = dir.resolve("ip");
        for (String[] p : List.of(new String[] {"tiny-controlnet", cn.toString()}, new String[] {"tiny-ip-adapter", ip.toString()})) {
            CliTest.Result r = CliTest.run("models", "create", "--config", p[0], "--to", p[1]);
            assertThat(r.exitCode()).as(r.err()).isZero();
        }
    }

    private static List<byte[]> img2img(String name, Path config, String... extra) throws IOException {
        Path out = dir.resolve(name);
        List<String> a = new ArrayList<>(List.of("img2img", "--model", "tiny", "--config", config.toString(),
                "--width", "64", "--height", "64", "--input", "examples/frames", "--output", out.toString()));
        a.addAll(List.of(extra));
        CliTest.Result r = CliTest.run(a.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < 8; i++) frames.add(Files.readAllBytes(out.resolve(String.format("%03d.png", i))));
        return frames;
    }

    private static List<byte[]> img2img(String name, String... extra) throws IOException {
        return img2img(name, Path.of("examples/img2img.json"), extra);
    }

    private static String[] control(double scale) {
        return new String[] {"--controlnet", cn + ":" + scale, "--control-preprocessor", "canny"};
    }

    private static String[] adapter(double scale) {
        return new String[] {"--ip-adapter", ip + ":" + scale, "--style-image", "examples/frames/002.png"};
    }

    private static String[] both(double controlScale, double adapterScale) {
        List<String> a = new ArrayList<>(List.of(control(controlScale)));
        a.addAll(List.of(adapter(adapterScale)));
        return a.toArray(String[]::new);
    }

    @Test
    void bothTogetherDifferFromEachAloneAndEachTurnsOffExactly() throws Exception {
        List<byte[]> controlOnly = img2img("cn", control(0.8));
        List<byte[]> adapterOnly = img2img("ip", adapter(0.8));
        List<byte[]> together = img2img("both", both(0.8, 0.8));
        List<byte[]> controlOff = img2img("cn-off", both(0, 0.8));
        List<byte[]> adapterOff = img2img("ip-off", both(0.8, 0));
        for (int i = 0; i < 8; i++) {
            assertThat(Arrays.equals(together.get(i), controlOnly.get(i))).as("frame " + i + " differs from the ControlNet alone")
                    .isFalse();
            assertThat(Arrays.equals(together.get(i), adapterOnly.get(i))).as("frame " + i + " differs from the adapter alone")
                    .isFalse();
            assertThat(controlOff.get(i)).as("frame " + i + ": ControlNet at 0 is the adapter's run").isEqualTo(adapterOnly.get(i));
            assertThat(adapterOff.get(i)).as("frame " + i + ": adapter at 0 is the ControlNet's run").isEqualTo(controlOnly.get(i));
        }
        // the run configuration takes the pair too
        Path config = dir.resolve("both.json");
        String json = Files.readString(Path.of("examples/img2img.json")).strip();
        Files.writeString(config, json.substring(0, json.lastIndexOf('}')) + ", \"controlnets\": [{\"path\": \"" + cn
                + "\", \"scale\": 0.8}], \"control_preprocessor\": \"canny\", \"ip_adapter\": \"" + ip
                + "\", \"ip_adapter_scale\": 0.8, \"style_image\": \"examples/frames/002.png\"}");
        List<byte[]> fromConfig = img2img("json", config);
        for (int i = 0; i < 8; i++) assertThat(fromConfig.get(i)).as("frame " + i).isEqualTo(together.get(i));
    }
}
