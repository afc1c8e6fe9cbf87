package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.image.ImageFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults of the machine and of the input, injected into real runs (issue 10 items 2 and 3): a
 * disk that fills up (a tiny tmpfs mounted in a private mount namespace with {@code unshare},
 * which works as root and, through a user namespace, without), a decoder killed mid-run, and
 * truncated files. Each is an error with a non-zero exit that says what happened, and no
 * incomplete output is left under its final name.
 */
class FaultInjectionTest {
    private static final String MODEL_ARGS = "--width 64 --height 64";

    /** What a command run with a small full-able filesystem at {@code mount} printed, and what it left there. */
    private record Outcome(int exitCode, String output, Path left) {}

    /**
     * Runs the CLI with a tmpfs of {@code kilobytes} mounted at {@code dir/mnt}; its content is
     * copied to {@code dir/left} before the namespace (and the mount) goes away.
     */
    private static Outcome withSmallDisk(Path dir, int kilobytes, String... args) throws Exception {
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Path left = Files.createDirectories(dir.resolve("left"));
        List<String> java = RunCommandTest.javaCommand(-1, args).command();
        List<String> cmd = new ArrayList<>(List.of("unshare", "-rm", "bash", "-c",
                "mount -t tmpfs -o size=" + kilobytes + "k tmpfs \"$MNT\" || exit 99; \"$@\"; code=$?; cp -a \"$MNT/.\" \"$LEFT/\";"
                        + " exit $code", "sh"));
        cmd.addAll(java);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("MNT", mnt.toString());
        pb.environment().put("LEFT", left.toString());
        pb.environment().remove("DISPLAY");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("the small filesystem could be mounted:\n" + out).isNotEqualTo(99);
        return new Outcome(p.exitValue(), out, left);
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    private static String[] args(String line, Object... values) {
        return String.format(line, values).split(" ");
    }

    private static void ffmpeg(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-v", "error", "-y"));
        cmd.addAll(List.of(args));
        RunCommandTest.sh(dir, cmd.toArray(String[]::new));
    }

    /**
     * A video sink on a disk that fills: ffmpeg exits 0 there, but says "No space left on device".
     * 300 frames, so the video is past the 4 KiB disk however well the model's output compresses
     * (60 frames of a near-flat output fitted once).
     */
    @Test
    void diskFullWhileWritingAVideo(@TempDir Path dir) throws Exception {
        ffmpeg(dir, "-f", "lavfi", "-i", "testsrc=size=64x64:rate=30:duration=10", "-pix_fmt", "yuv420p", "in.mp4");
        Outcome o = withSmallDisk(dir, 4, args("run --model tiny %s --source video:%s --sink video:%s --no-control",
                MODEL_ARGS, dir.resolve("in.mp4"), dir.resolve("mnt/out.mp4")));
        assertThat(o.exitCode()).as(o.output()).isEqualTo(1);
        assertThat(o.output()).contains("cannot write " + dir.resolve("mnt/out.mp4") + ": the disk is full")
                .contains("No space left on device").doesNotContain("run: done");
        assertThat(files(o.left())).as("no video, and no partial file, is left").isEmpty();
    }

    /** A folder sink on a disk that fills: the frames written are whole PNGs, the one that failed is not there. */
    @Test
    void diskFullWhileWritingFrames(@TempDir Path dir) throws Exception {
        ffmpeg(dir, "-f", "lavfi", "-i", "testsrc=size=64x64:rate=30:duration=2", "-pix_fmt", "yuv420p", "in.mp4");
        Outcome o = withSmallDisk(dir, 24, args("run --model tiny %s --source video:%s --sink folder:%s --no-control",
                MODEL_ARGS, dir.resolve("in.mp4"), dir.resolve("mnt/frames")));
        assertThat(o.exitCode()).as(o.output()).isEqualTo(1);
        List<String> left = files(o.left());
        assertThat(left).as(o.output()).isNotEmpty().allMatch(f -> f.matches("frames/\\d{3}\\.png"));
        String next = String.format("%03d.png", left.size());
        assertThat(o.output()).contains("cannot write " + dir.resolve("mnt/frames/" + next) + ": the disk is full")
                .doesNotContain("I/O error writing PNG file");
        for (String f : left) assertThat(ImageFiles.read(o.left().resolve(f)).width()).as(f).isEqualTo(64);
    }

    /** img2img --save-npy on a disk that fills: no truncated .npy (issue 10 item 2). */
    @Test
    void diskFullWhileSavingNpy(@TempDir Path dir) throws Exception {
        // one 64x64 PNG (~6 kB) fits in 40 kB, its 48 kB float .npy does not
        Outcome o = withSmallDisk(dir, 40, args("img2img --model tiny --config examples/img2img.json %s --input examples/frames"
                + " --output %s --save-npy", MODEL_ARGS, dir.resolve("mnt/out")));
        assertThat(o.exitCode()).as(o.output()).isEqualTo(1);
        assertThat(o.output()).contains("cannot write " + dir.resolve("mnt/out/000.npy") + ": the disk is full");
        assertThat(files(o.left())).as(o.output()).containsExactly("out/000.png");
    }

    /** The decoding ffmpeg killed mid-run is an error, not the end of the video (issue 10 item 3). */
    @Test
    void killedSourceDecoderIsAnError(@TempDir Path dir) throws Exception {
        ffmpeg(dir, "-f", "lavfi", "-i", "testsrc=size=64x64:rate=30:duration=60", "-pix_fmt", "yuv420p", "in.mp4");
        Path log = dir.resolve("run.log");
        Process p = RunCommandTest.javaCommand(-1, args("run --model tiny %s --source video:%s --sink video:%s --no-control",
                MODEL_ARGS, dir.resolve("in.mp4"), dir.resolve("out.mp4"))).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + 120_000_000_000L;
        ProcessHandle decoder = null;
        while (System.nanoTime() < deadline && (decoder == null || !Files.readString(log).contains("fps"))) {
            decoder = p.descendants().filter(h -> h.info().commandLine().orElse("").contains("rawvideo")
                    && h.info().commandLine().orElse("").contains("in.mp4")).findFirst().orElse(null);
            Thread.sleep(100);
        }
        assertThat(decoder).as(Files.readString(log)).isNotNull();
        assertThat(decoder.destroyForcibly()).isTrue(); // SIGKILL
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(log);
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        assertThat(out).contains("the ffmpeg decoding " + dir.resolve("in.mp4") + " was killed (signal 9) after")
                .contains("of 1800 frames").contains("the source ended early").doesNotContain("run: done");
        assertThat(files(dir)).as("no output video is left").containsExactly("in.mp4", "run.log");
    }

    /** Truncated files are refused before the models load, with the declared and the present frame counts. */
    @Test
    void truncatedVideosAreErrors(@TempDir Path dir) throws Exception {
        ffmpeg(dir, "-f", "lavfi", "-i", "testsrc=size=64x64:rate=30:duration=4", "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "in.mp4");
        ffmpeg(dir, "-f", "lavfi", "-i", "testsrc=size=64x64:rate=30:duration=4", "-pix_fmt", "yuv420p", "in.mkv");
        for (String name : List.of("in.mp4", "in.mkv")) {
            byte[] whole = Files.readAllBytes(dir.resolve(name));
            Path half = dir.resolve("half-" + name);
            Files.write(half, java.util.Arrays.copyOf(whole, whole.length / 2));
            CliTest.Result r = CliTest.run(args("run --model tiny %s --source video:%s --sink video:%s --no-control",
                    MODEL_ARGS, half, dir.resolve("out-" + name + ".mp4")));
            assertThat(r.exitCode()).as("a damaged input file is bad input: " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains(half + " is truncated or damaged: its header declares 120 frames, but only");
            assertThat(dir.resolve("out-" + name + ".mp4")).doesNotExist();
        }
    }

    /** Raw frames on standard input that stop inside a frame: an error, not a quiet end. */
    @Test
    void rawStreamCutInsideAFrameIsAnError(@TempDir Path dir) throws Exception {
        Process p = RunCommandTest.javaCommand(-1, args("run --model tiny %s --source stdin:32x32 --sink null --input-policy all",
                MODEL_ARGS)).start();
        try (var in = p.getOutputStream()) {
            in.write(new byte[32 * 32 * 3 + 1000]); // one frame and a third
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(1);
        assertThat(out).contains("standard input ended inside frame 1 (1000 of 3072 bytes of a 32x32 RGB24 frame)");
    }
}
