package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.image.ImageFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code run} command end to end with real video files (ffmpeg) and a real X display (Xvfb). */
class RunCommandTest {

    static CliTest.Result run(String... args) {
        return CliTest.run(args);
    }

    static void sh(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
    }

    static long videoFrames(Path video) throws Exception {
        Process p = new ProcessBuilder("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", video.toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor(60, TimeUnit.SECONDS);
        return Long.parseLong(out);
    }

    /**
     * A video made by ffmpeg goes through {@code run} to a folder and to a video: every frame, in
     * order — the folder's frames equal img2img's outputs on the same frames one by one.
     */
    @Test
    void videoFileToFolderAndToVideo(@TempDir Path dir) throws Exception {
        sh(dir, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=80x64:rate=10:duration=1.2",
                "-pix_fmt", "yuv420p", "in.mp4");
        Files.createDirectories(dir.resolve("frames"));
        sh(dir, "ffmpeg", "-v", "error", "-i", "in.mp4", "frames/%03d.png");
        String[] model = {"--model", "tiny", "--width", "64", "--height", "64"};

        CliTest.Result toFolder = run(concat(new String[] {"run", "--source", dir.resolve("in.mp4").toString(),
                "--sink", "folder:" + dir.resolve("out"), "--no-control"}, model));
        assertThat(toFolder.exitCode()).as(toFolder.err()).isZero();
        CliTest.Result reference = run(concat(new String[] {"img2img", "--input", dir.resolve("frames").toString(),
                "--output", dir.resolve("ref").toString()}, model));
        assertThat(reference.exitCode()).as(reference.err()).isZero();
        List<Path> got = ImageFiles.list(dir.resolve("out"));
        List<Path> expected = ImageFiles.list(dir.resolve("ref"));
        assertThat(got).hasSize(12).hasSameSizeAs(expected);
        for (int i = 0; i < got.size(); i++) {
            assertThat(ImageFiles.read(got.get(i)).rgb()).as("frame %d", i)
                    .containsExactly(ImageFiles.read(expected.get(i)).rgb());
        }

        CliTest.Result toVideo = run(concat(new String[] {"run", "--source", "video:" + dir.resolve("in.mp4"),
                "--sink", dir.resolve("out.mp4").toString(), "--no-control"}, model));
        assertThat(toVideo.exitCode()).as(toVideo.err()).isZero();
        assertThat(videoFrames(dir.resolve("out.mp4"))).isEqualTo(12);
    }

    @Test
    void missingFfmpegIsAClearError(@TempDir Path dir) throws Exception {
        String before = System.getProperty("streamdiffusion4j.ffmpeg");
        System.setProperty("streamdiffusion4j.ffmpeg", dir.resolve("no-ffmpeg").toString());
        try {
            CliTest.Result r = run("run", "--model", "tiny", "--source", "folder:examples/frames",
                    "--sink", dir.resolve("out.mp4").toString(), "--no-control");
            assertThat(r.exitCode()).isNotZero();
            assertThat(r.err()).contains("ffmpeg was not found").contains("apt install ffmpeg");
        } finally {
            if (before == null) System.clearProperty("streamdiffusion4j.ffmpeg");
            else System.setProperty("streamdiffusion4j.ffmpeg", before);
        }
        CliTest.Result badSource = run("run", "--model", "tiny", "--source", "nowhere/none.mp4", "--sink", "null");
        assertThat(badSource.exitCode()).isNotZero();
        assertThat(badSource.err()).contains("source not found");
        CliTest.Result badSink = run("run", "--model", "tiny", "--source", "folder:examples/frames", "--sink", "out.xyz");
        assertThat(badSink.exitCode()).isNotZero();
        assertThat(badSink.err()).contains("unknown sink");
    }

    /** The screen, captured under a virtual X display, goes through the model. */
    @Test
    void screenCaptureUnderXvfb(@TempDir Path dir) throws Exception {
        int display = 90 + (int) (ProcessHandle.current().pid() % 50);
        Process xvfb = new ProcessBuilder("Xvfb", ":" + display, "-screen", "0", "320x240x24", "-nolisten", "tcp")
                .redirectErrorStream(true).redirectOutput(dir.resolve("xvfb.log").toFile()).start();
        try {
            Thread.sleep(1500);
            assertThat(xvfb.isAlive()).as("Xvfb started (log: %s)", Files.readString(dir.resolve("xvfb.log"))).isTrue();
            Process p = javaProcess(dir, display, "run", "--model", "tiny", "--width", "64", "--height", "64",
                    "--source", "screen:0,0,128,96", "--sink", "folder:" + dir.resolve("out"), "--max-frames", "3",
                    "--no-control");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(ImageFiles.list(dir.resolve("out")).size()).isGreaterThanOrEqualTo(3);
            assertThat(out).contains("screen 0,0 128x96");

            // the preview window opens on the same display and shows the stream
            Process w = javaProcess(dir, display, "run", "--model", "tiny", "--width", "64", "--height", "64",
                    "--source", "screen:0,0,64,64", "--sink", "window", "--max-frames", "3", "--no-control");
            String wout = new String(w.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(w.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(w.exitValue()).as(wout).isZero();
            assertThat(wout).contains("preview window");
        } finally {
            xvfb.destroy();
            xvfb.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Stopping mid-stream (as Ctrl-C does) finishes the video file: it is valid and holds every
     * frame written before the stop.
     */
    @Test
    void stopMidStreamFinishesTheVideo(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("run.log");
        ProcessBuilder pb = javaCommand(-1, "run", "--model", "tiny", "--width", "64", "--height", "64",
                "--source", "image:examples/frames/000.png", "--fps", "20", "--sink", dir.resolve("out.mp4").toString(),
                "--no-control");
        Process p = pb.redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.readString(log).contains("unet calls") && System.nanoTime() < deadline) Thread.sleep(200);
        Thread.sleep(1500);
        p.destroy(); // SIGTERM: handled like Ctrl-C
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(log);
        assertThat(out).doesNotContain("fatal error").contains("stopping: finishing").contains("run: done");
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(dir.resolve("out.mp4")).as(out).exists();
        assertThat(videoFrames(dir.resolve("out.mp4"))).as(out).isGreaterThan(0);
    }

    /** Raw RGB24 frames in on standard input, out on standard output: the pipes for virtual cameras. */
    @Test
    void rawFramesThroughStdinAndStdout(@TempDir Path dir) throws Exception {
        ProcessBuilder pb = javaCommand(-1, "run", "--model", "tiny", "--width", "64", "--height", "64",
                "--source", "stdin:32x32", "--sink", "stdout", "--input-policy", "all");
        pb.redirectErrorStream(false).redirectError(dir.resolve("err.log").toFile());
        Process p = pb.start();
        byte[] frames = new byte[3 * 32 * 32 * 3];
        for (int i = 0; i < frames.length; i++) frames[i] = (byte) (i * 7);
        try (var in = p.getOutputStream()) {
            in.write(frames);
        }
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(dir.resolve("err.log"))).isZero();
        assertThat(out).as("three 64x64 RGB24 frames").hasSize(3 * 64 * 64 * 3);
    }

    /** Starts the CLI in a separate JVM (for a display or a signal); stderr is merged into stdout. */
    static Process javaProcess(Path dir, int display, String... args) throws IOException {
        return javaCommand(display, args).start();
    }

    static ProcessBuilder javaCommand(int display, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dstreamdiffusion4j.cache=" + System.getProperty("streamdiffusion4j.cache"),
                "io.streamdiffusion4j.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(Path.of("").toAbsolutePath().toFile()).redirectErrorStream(true);
        if (display >= 0) pb.environment().put("DISPLAY", ":" + display);
        else pb.environment().remove("DISPLAY");
        return pb;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
