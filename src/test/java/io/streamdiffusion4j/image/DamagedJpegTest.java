package io.streamdiffusion4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.testing.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Damaged JPEGs fail their own decode and nothing else: no decoder state outlives an error or is
 * shared between threads. Issue 10, item 1: a JPEG without a start of scan crashed the process on
 * the next frame (one TurboJPEG handle for everybody), and a bad Huffman table made it refuse
 * every later frame.
 */
class DamagedJpegTest {

    /** ImageIO always; TurboJPEG where libturbojpeg is installed (CI installs it). */
    static Stream<Named<ImageCodec>> codecs() {
        TurboJpegCodec turbo = TurboJpegCodec.load();
        Stream<ImageCodec> codecs = turbo == null ? Stream.of(new ImageIoCodec()) : Stream.of(new ImageIoCodec(), turbo);
        return codecs.map(c -> Named.of(c.name(), c));
    }

    /** In a child JVM: a crash there (SIGSEGV in libturbojpeg) fails this test instead of killing the test run. */
    @Test
    void aJpegWithoutItsScanThenValidOnesDoNotCrashTheProcess(@TempDir Path crashDir) throws Exception {
        for (String codec : List.of("best", "imageio")) {
            Path log = crashDir.resolve(codec + ".log");
            Process p = ChildJvm.command(crashDir, List.of(), DamagedJpegSequence.class.getName(), codec)
                    .redirectOutput(log.toFile()).start();
            boolean ended = p.waitFor(120, TimeUnit.SECONDS);
            p.destroyForcibly();
            String out = Files.readString(log);
            assertThat(ended).as(out).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("survived").contains("cut before its start of scan: truncated JPEG")
                    .doesNotContain("fatal error");
        }
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void damagedJpegsFailAndValidOnesStillDecodeFromSeveralThreads(ImageCodec codec) throws Exception {
        List<byte[]> valid = new ArrayList<>();
        List<byte[]> expected = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            byte[] jpeg = TestImages.encode(TestImages.gradient(96 + 16 * t, 64, t), "jpeg");
            valid.add(jpeg);
            expected.add(codec.decode(jpeg).rgb());
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                results.add(pool.submit((Callable<Integer>) () -> {
                    Map<String, byte[]> damaged = TestImages.damagedJpegs(valid.get(thread), false);
                    int refused = 0;
                    for (int round = 0; round < 25; round++) {
                        for (Map.Entry<String, byte[]> e : damaged.entrySet()) {
                            assertThatThrownBy(() -> codec.decode(e.getValue())).as(e.getKey())
                                    .isInstanceOf(BadImageException.class);
                            refused++;
                            assertThat(codec.decode(valid.get(thread)).rgb()).as("valid JPEG after one " + e.getKey())
                                    .isEqualTo(expected.get(thread));
                        }
                    }
                    return refused;
                }));
            }
            for (Future<Integer> f : results) assertThat(f.get(120, TimeUnit.SECONDS)).isEqualTo(25 * 3);
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void theErrorSaysWhatIsWrong(ImageCodec codec) {
        Map<String, byte[]> damaged = TestImages.damagedJpegs(TestImages.jpeg(64, 64), true);
        assertThatThrownBy(() -> codec.decode(damaged.get("cut before its start of scan")))
                .hasMessageContaining("truncated JPEG: no start of scan after the frame header");
        assertThatThrownBy(() -> codec.decode(damaged.get("a bit flipped in its Huffman table")))
                .hasMessageContaining("damaged JPEG").hasMessageContaining("Huffman");
        assertThatThrownBy(() -> codec.decode(damaged.get("tables only, no frame"))).hasMessageContaining("no frame header");
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void imageBombsAreRefusedFromTheHeader(ImageCodec codec) {
        byte[] jpeg = TestImages.withJpegSize(TestImages.jpeg(8, 8), 60000, 60000);
        assertThatThrownBy(() -> codec.decode(jpeg, ImageSizeLimit.FRAMES)).isInstanceOf(ImageTooLargeException.class)
                .hasMessageContaining("60000x60000").hasMessageContaining("2048 pixels");
        byte[] png = TestImages.withPngSize(TestImages.encode(TestImages.gradient(8, 8, 0), "png"), 20000, 20000);
        assertThatThrownBy(() -> codec.decode(png, ImageSizeLimit.FILES)).isInstanceOf(ImageTooLargeException.class)
                .hasMessageContaining("20000x20000").hasMessageContaining("8192 pixels");
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void everySupportedFormatDecodesToTheSamePixels(ImageCodec codec) throws Exception {
        RgbImage image = TestImages.gradient(40, 24, 3);
        for (String lossless : List.of("png", "bmp")) {
            assertThat(codec.decode(TestImages.encode(image, lossless)).rgb()).as(lossless).isEqualTo(image.rgb());
        }
        RgbImage gif = codec.decode(TestImages.encode(image, "gif"));
        assertThat(gif.width()).isEqualTo(40);
        assertThat(gif.height()).isEqualTo(24);
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void encodingFromSeveralThreadsGivesWhatOneThreadGives(ImageCodec codec) throws Exception {
        List<RgbImage> images = new ArrayList<>();
        List<byte[]> expected = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            images.add(TestImages.gradient(64 + 8 * t, 48, t));
            expected.add(codec.encodeJpeg(images.get(t), 80));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        assertThat(codec.encodeJpeg(images.get(thread), 80)).isEqualTo(expected.get(thread));
                    }
                    return null;
                }));
            }
            for (Future<?> f : results) f.get(120, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }
}
