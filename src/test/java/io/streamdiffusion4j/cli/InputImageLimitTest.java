package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.image.TestImages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 8: an image bomb on the command line (a 1.1 MB PNG declaring 20000x20000 took
 * 3.2 GB and 51 s) is refused from its header, naming the file, the declared size and the limit,
 * with exit code 2; --max-frame-size sets the limit as it does for the web server.
 */
class InputImageLimitTest {

    private record Result(int code, String err) {}

    private static Result run(String... args) {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args);
        return new Result(code, err.toString());
    }

    private static Path bomb(Path dir) throws Exception {
        byte[] png = TestImages.withPngSize(TestImages.encode(TestImages.gradient(64, 64, 0), "png"), 20000, 20000);
        return Files.write(dir.resolve("bomb.png"), png);
    }

    @Test
    void img2imgRefusesAnImageBombFromItsHeader(@TempDir Path dir) throws Exception {
        Path bomb = bomb(dir);
        Result r = run("img2img", "--model", "tiny", "--input", bomb.toString(), "--output", dir.resolve("out").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains(bomb.toString()).contains("declares 20000x20000 pixels")
                .contains("limit of 8192 pixels").contains("--max-frame-size");
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void theLimitIsSetWithMaxFrameSize(@TempDir Path dir) throws Exception {
        Path frames = Files.createDirectories(dir.resolve("frames"));
        Files.write(frames.resolve("000.png"), TestImages.encode(TestImages.gradient(64, 48, 0), "png"));
        Result r = run("img2img", "--model", "tiny", "--max-frame-size", "32", "--input", frames.toString(),
                "--output", dir.resolve("out").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("000.png").contains("declares 64x48 pixels").contains("limit of 32 pixels");
        Result tooSmall = run("img2img", "--model", "tiny", "--max-frame-size", "4", "--input", frames.toString(),
                "--output", dir.resolve("out").toString());
        assertThat(tooSmall.code()).isEqualTo(2);
        assertThat(tooSmall.err()).contains("at least 8 pixels, found 4");
    }

    @Test
    void aDamagedInputImageIsBadInput(@TempDir Path dir) throws Exception {
        byte[] png = TestImages.encode(TestImages.gradient(64, 64, 0), "png");
        Path cut = Files.write(dir.resolve("cut.png"), Arrays.copyOf(png, png.length / 2));
        Result r = run("img2img", "--model", "tiny", "--input", cut.toString(), "--output", dir.resolve("out").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains(cut.toString()).contains("PNG");
    }

    @Test
    void runRefusesAnImageBombSource(@TempDir Path dir) throws Exception {
        Path bomb = bomb(dir);
        Result r = run("run", "--model", "tiny", "--source", "image:" + bomb, "--sink", "folder:" + dir.resolve("out"),
                "--no-control");
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains(bomb.toString()).contains("declares 20000x20000 pixels").contains("--max-frame-size");
        Result raw = run("run", "--model", "tiny", "--source", "stdin:30000x30000", "--sink", "folder:" + dir.resolve("out"),
                "--no-control");
        assertThat(raw.code()).as(raw.err()).isEqualTo(2);
        assertThat(raw.err()).contains("standard input declares 30000x30000 pixels");
    }
}
