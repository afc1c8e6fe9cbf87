package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live control through the real command line: {@code run} in its own JVM with commands typed on
 * its standard input. Bad commands are refused with the reason while frames keep flowing and
 * change nothing; a good one is acknowledged and changes the stream from one frame on, exactly
 * as the library does when the same change is made between those two frames.
 */
class RunControlTest {
    private static final Path CONFIG = Fixtures.publicRun().resolve("config.json");
    private static final Path IMAGE = Fixtures.frames().resolve("000.png");

    /** The merged stdout and stderr of a process, collected as it comes. */
    private static final class Log {
        private final StringBuilder text = new StringBuilder();

        Log(InputStream in) {
            Thread.ofPlatform().daemon().start(() -> {
                byte[] buf = new byte[4096];
                try {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        synchronized (text) {
                            text.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                        }
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            });
        }

        String text() {
            synchronized (text) {
                return text.toString();
            }
        }
    }

    private static void waitFor(String what, BooleanSupplier condition, Log log) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what + "\n" + log.text());
            Thread.sleep(20);
        }
    }

    private static int frames(Path dir) {
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return (int) s.filter(p -> p.getFileName().toString().endsWith(".png")).count();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void type(OutputStream stdin, String line) throws IOException {
        stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        stdin.flush();
    }

    @Test
    void badCommandsAreRefusedWhileFramesFlowAndAGoodOneTakesEffectAtTheNextFrame(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Process p = RunCommandTest.javaCommand(-1, "run", "--model", Fixtures.onnxModel().toString(), "--taesd",
                Fixtures.taesd().toString(), "--config", CONFIG.toString(), "--source", "image:" + IMAGE, "--fps", "8",
                "--sink", "folder:" + out).start();
        Log log = new Log(p.getInputStream());
        int beforeChange;
        int atAck;
        try (OutputStream stdin = p.getOutputStream()) {
            waitFor("the first frames", () -> frames(out) >= 3, log);
            // issue 10 item 4: each of these was acknowledged, then failed the next frame and ended the run
            for (String bad : List.of("t_index 999", "filter on 7", "guidance -5", "t_index 1,2,3,4,5")) type(stdin, bad);
            waitFor("four refusals", () -> log.text().split("refused: ", -1).length - 1 >= 4, log);
            int afterRefusals = frames(out);
            waitFor("frames after the refusals", () -> frames(out) >= afterRefusals + 3, log);

            beforeChange = frames(out);
            type(stdin, "prompt a cat in the snow");
            waitFor("the acknowledgement", () -> log.text().contains("> prompt: a cat in the snow (from the next frame)"), log);
            atAck = frames(out);
            int changedAt = atAck;
            waitFor("frames after the change", () -> frames(out) >= changedAt + 4, log);
            type(stdin, "quit");
        }
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String text = log.text();
        assertThat(p.exitValue()).as(text).isZero();
        assertThat(text).contains("refused: t_index_list entry 999 is outside [0, 49]")
                .contains("refused: similar_image_filter.threshold must be in [0, 1], found 7")
                .contains("refused: guidance_scale must be in [0, 10], found -5")
                .contains("refused: t_index_list must have 1 to 4 entries, found 5")
                .contains("run: done");
        assertThat(text.split("\n> ", -1)).as("only the good command is acknowledged").hasSize(2);

        // The oracle: the library on the same frame, unchanged, and with the prompt changed before frame b.
        List<RgbImage> got = new ArrayList<>();
        for (Path f : ImageFiles.list(out)) got.add(ImageFiles.read(f));
        List<RgbImage> unchanged = library(got.size(), -1, s -> {});
        int b = 0;
        while (b < got.size() && java.util.Arrays.equals(got.get(b).rgb(), unchanged.get(b).rgb())) b++;
        assertThat(b).as("the refused commands changed nothing: frames up to the good command are the unchanged stream's")
                .isGreaterThanOrEqualTo(beforeChange);
        assertThat(b).as("the prompt changed the stream within a few frames of its acknowledgement (frame %d of %d)",
                b, got.size()).isLessThanOrEqualTo(atAck + 6).isLessThan(got.size());
        List<RgbImage> changed = library(got.size(), b, s -> s.updatePrompt("a cat in the snow"));
        for (int i = 0; i < got.size(); i++) {
            assertThat(got.get(i).rgb()).as("frame %d (prompt changed before frame %d)", i, b).containsExactly(changed.get(i).rgb());
        }
    }

    /** {@code frames} outputs of the fixture run on the repeated image, with {@code change} made before frame {@code at}. */
    private static List<RgbImage> library(int frames, int at, Consumer<StreamDiffusion> change) throws Exception {
        RunConfig rc = RunConfig.fromJson(RunConfig.readJson(CONFIG), CONFIG.toString());
        RgbImage image = ImageFiles.read(IMAGE);
        List<RgbImage> out = new ArrayList<>();
        try (StableDiffusionModels models = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(),
                OnnxModelLoader.Options.defaults());
             StreamDiffusion s = StreamDiffusion.builder().models(models).config(rc.streamConfig()).build()) {
            s.prepare(rc.prompt(), rc.negativePrompt(), rc.numInferenceSteps(), rc.guidanceScale(), rc.delta());
            for (int i = 0; i < frames; i++) {
                if (i == at) change.accept(s);
                FloatTensor y = s.img2img(s.preprocessor().toTensor(List.of(image)));
                out.add(ImagePostprocessor.toRgb(ImagePostprocessor.toUnitHwc(y, 0), y.dim(3), y.dim(2)));
            }
        }
        return out;
    }
}
