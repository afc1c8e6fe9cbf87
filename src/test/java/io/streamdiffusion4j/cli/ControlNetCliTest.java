package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.testing.ControlNetTestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code models create --config tiny-controlnet}, then {@code img2img --controlnet CN:SCALE
 * --control-preprocessor canny} end to end on the built-in tiny model (the ControlNet converted
 * from the preset's diffusers folder, the UNet with residual inputs made from the model's own):
 * 8 frames that differ from the run without ControlNet, a scale of 0 gives exactly that run's
 * files, and bad ControlNet options are input errors (exit 2) that name the option.
 */
class ControlNetCliTest {

    private static CliTest.Result img2img(String model, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("img2img", "--model", model, "--config", "examples/img2img.json",
                "--width", "64", "--height", "64", "--input", "examples/frames", "--output", out.toString()));
        a.addAll(List.of(extra));
        return CliTest.run(a.toArray(String[]::new));
    }

    private static List<byte[]> outputs(Path dir) throws IOException {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) out.add(Files.readAllBytes(dir.resolve(String.format("%03d.png", i))));
        return out;
    }

    @Test
    void aControlNetChangesTheFramesAndScaleZeroIsTheRunWithoutIt(@TempDir Path dir) throws Exception {
        // the commands: a random ControlNet preset for the built-in tiny model, converted on first use
        Path cn = dir.resolve("cn");
        CliTest.Result created = CliTest.run("models", "create", "--config", "tiny-controlnet", "--to", cn.toString());
        assertThat(created.exitCode()).as(created.err()).isZero();
        String model = "tiny";
        CliTest.Result plain = img2img("tiny", dir.resolve("plain"));
        assertThat(plain.exitCode()).as(plain.err()).isZero();
        CliTest.Result on = img2img(model, dir.resolve("on"), "--controlnet", cn + ":0.8", "--control-preprocessor", "canny");
        assertThat(on.exitCode()).as(on.err()).isZero();
        CliTest.Result off = img2img(model, dir.resolve("off"), "--controlnet", cn + ":0", "--control-preprocessor", "canny");
        assertThat(off.exitCode()).as(off.err()).isZero();
        List<byte[]> p = outputs(dir.resolve("plain")), a = outputs(dir.resolve("on")), z = outputs(dir.resolve("off"));
        for (int i = 0; i < 8; i++) {
            assertThat(Arrays.equals(a.get(i), p.get(i))).as("frame " + i + " differs with the ControlNet").isFalse();
            assertThat(z.get(i)).as("frame " + i + " at scale 0 is the run without ControlNet").isEqualTo(p.get(i));
        }
        // the same ControlNet through the run configuration file gives the option's frames
        Path config = dir.resolve("cn.json");
        String json = Files.readString(Path.of("examples/img2img.json")).strip();
        Files.writeString(config, json.substring(0, json.length() - 1) + ", \"controlnets\": [{\"path\": \"" + cn
                + "\", \"scale\": 0.8}], \"control_preprocessor\": \"canny\"}");
        List<String> args = new ArrayList<>(List.of("img2img", "--model", model, "--config", config.toString(),
                "--width", "64", "--height", "64", "--input", "examples/frames", "--output", dir.resolve("json").toString()));
        CliTest.Result fromJson = CliTest.run(args.toArray(String[]::new));
        assertThat(fromJson.exitCode()).as(fromJson.err()).isZero();
        List<byte[]> j = outputs(dir.resolve("json"));
        for (int i = 0; i < 8; i++) assertThat(j.get(i)).as("frame " + i).isEqualTo(a.get(i));
    }

    @Test
    void badControlNetOptionsAreInputErrorsNamingTheOption(@TempDir Path dir) throws Exception {
        Path cn = dir.resolve("cn");
        ControlNetTestModels.controlNet(cn, 4, 16);
        CliTest.Result scale = img2img("tiny", dir.resolve("o"), "--controlnet", cn + ":3");
        assertThat(scale.exitCode()).isEqualTo(2);
        assertThat(scale.err()).contains("--controlnet").contains("controlnet scale must be in [0, 2], found 3.0");
        CliTest.Result pre = img2img("tiny", dir.resolve("o"), "--controlnet", cn.toString(), "--control-preprocessor", "sobel");
        assertThat(pre.exitCode()).isEqualTo(2);
        assertThat(pre.err()).contains("control_preprocessor must be one of [canny, depth, none], found \"sobel\"");
        CliTest.Result missing = img2img("tiny", dir.resolve("o"), "--controlnet", dir.resolve("nothing") + ":0.5");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("ControlNet not found: " + dir.resolve("nothing"));
        CliTest.Result neither = img2img("tiny", dir.resolve("o"), "--controlnet", dir.toString());
        assertThat(neither.exitCode()).as(neither.err()).isEqualTo(2);
        assertThat(neither.err()).contains("is neither a diffusers ControlNetModel folder");
    }
}
