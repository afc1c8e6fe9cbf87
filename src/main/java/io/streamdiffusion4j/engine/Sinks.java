package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.files.AtomicFiles;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.RgbImage;
import java.awt.BorderLayout;
import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.swing.ImageIcon;
import javax.swing.JFrame;
import javax.swing.JLabel;
import javax.swing.SwingUtilities;
import javax.swing.WindowConstants;

/**
 * Frame sinks and their specs on the command line:
 * <ul>
 *   <li>{@code folder:DIR} (or a folder path): NNN.png ({@code folder:DIR:jpg} for JPEG);</li>
 *   <li>{@code video:FILE} (or a path ending .mp4, .mkv, .mov, .webm, .avi): a video through ffmpeg;</li>
 *   <li>{@code window}: a preview window (Swing);</li>
 *   <li>{@code stdout}: raw RGB24 frames on standard output (pipe them into ffmpeg for a virtual
 *       camera or a stream);</li>
 *   <li>{@code null}: discard (for measuring).</li>
 * </ul>
 */
public final class Sinks {
    private static final List<String> VIDEO = List.of(".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v");

    private Sinks() {}

    /**
     * @param fps frame rate written into a video file
     */
    public static FrameSink open(String spec, double fps) throws IOException {
        int colon = spec.indexOf(':');
        String kind = colon > 0 ? spec.substring(0, colon).toLowerCase(Locale.ROOT) : spec.toLowerCase(Locale.ROOT);
        String arg = colon > 0 ? spec.substring(colon + 1) : "";
        switch (kind) {
            case "folder": {
                boolean jpg = arg.toLowerCase(Locale.ROOT).endsWith(":jpg");
                return new Folder(Path.of(jpg ? arg.substring(0, arg.length() - 4) : arg), jpg);
            }
            case "video":
                return new VideoFile(Path.of(arg), fps);
            case "window":
                return new Window();
            case "stdout":
                return new RawOut(System.out, "standard output");
            case "null":
                return new Discard();
            default:
                break;
        }
        String name = spec.toLowerCase(Locale.ROOT);
        if (VIDEO.stream().anyMatch(name::endsWith)) return new VideoFile(Path.of(spec), fps);
        if (Files.isDirectory(Path.of(spec)) || !name.contains(".")) return new Folder(Path.of(spec), false);
        throw new IOException("unknown sink '" + spec + "': use folder:DIR, video:FILE.mp4, window, stdout or null");
    }

    /** Numbered images in a folder. */
    static final class Folder implements FrameSink {
        private final Path dir;
        private final boolean jpeg;
        private final ImageCodec codec = ImageCodec.best();

        Folder(Path dir, boolean jpeg) throws IOException {
            if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IOException("output path is not a folder: " + dir);
            Files.createDirectories(dir);
            this.dir = dir;
            this.jpeg = jpeg;
        }

        @Override
        public void accept(RgbImage image, long index) throws IOException {
            String name = String.format("%03d", index);
            if (jpeg) {
                AtomicFiles.write(dir.resolve(name + ".jpg"), codec.encodeJpeg(image, 90));
            } else {
                ImageFiles.writePng(image, dir.resolve(name + ".png"));
            }
        }

        @Override
        public boolean lossless() {
            return true;
        }

        @Override
        public String describe() {
            return "folder " + dir;
        }

        @Override
        public void close() {}
    }

    /**
     * A video file written by ffmpeg from raw RGB24 on its standard input (H.264 for .mp4, .mkv,
     * .mov, VP9 for .webm). The encoder starts with the first frame (its size is the video's);
     * closing ends the input and waits for ffmpeg to write the file's trailer. ffmpeg writes to a
     * hidden temporary file next to the video, renamed to the video's name only when ffmpeg
     * succeeded: a full disk, a failed encoder or a failed stream never leaves an unplayable file
     * under the final name (and a full disk is said so).
     */
    static final class VideoFile implements FrameSink {
        private final Path file;
        private final double fps;
        private final String ffmpeg;
        private Process process;
        private Path partial;
        private OutputStream pipe;
        private int width;
        private int height;
        private final StringBuilder errors = new StringBuilder();
        private Thread errorReader;

        VideoFile(Path file, double fps) throws IOException {
            this.ffmpeg = Ffmpeg.ffmpeg();
            this.file = file;
            this.fps = fps > 0 ? fps : 30;
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
        }

        @Override
        public void accept(RgbImage image, long index) throws IOException {
            if (process == null) start(image.width(), image.height());
            if (image.width() != width || image.height() != height) {
                throw new IOException("video frames must keep one size: " + width + "x" + height + ", found "
                        + image.width() + "x" + image.height());
            }
            try {
                pipe.write(image.rgb());
            } catch (IOException e) {
                // ffmpeg exited: its status and error output say why (a full disk, most often)
                waitQuietly();
                throw failure("ffmpeg stopped accepting frames for " + file, e);
            }
        }

        private void start(int w, int h) throws IOException {
            width = w;
            height = h;
            List<String> cmd = new ArrayList<>(List.of(ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", w + "x" + h, "-r", String.format(Locale.ROOT, "%.3f", fps), "-i", "-"));
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".webm")) {
                cmd.addAll(List.of("-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "32"));
            } else {
                cmd.addAll(List.of("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"));
            }
            String suffix = name.contains(".") ? name.substring(name.lastIndexOf('.')) : "";
            partial = AtomicFiles.temporarySibling(file, suffix); // the suffix picks ffmpeg's container
            cmd.add(partial.toString());
            process = new ProcessBuilder(cmd).start();
            errorReader = Thread.ofPlatform().daemon().name("ffmpeg-stderr").start(() -> {
                try {
                    String s = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                    synchronized (errors) {
                        errors.append(s);
                    }
                } catch (IOException ignored) {
                    // the exit code tells
                }
            });
            pipe = new BufferedOutputStream(process.getOutputStream(), 1 << 20);
        }

        /** ffmpeg's error output on one line. */
        private String errorText() {
            synchronized (errors) {
                return errors.toString().strip().replaceAll("\\s*\\R\\s*", "; ");
            }
        }

        @Override
        public boolean lossless() {
            return true;
        }

        @Override
        public String describe() {
            return "video " + file;
        }

        /** The error for a failed ffmpeg: the disk full said so, else ffmpeg's own words and status. */
        private IOException failure(String what, IOException cause) {
            String text = errorText();
            if (AtomicFiles.isDiskFull(text)) {
                return new IOException("cannot write " + file + ": the disk is full (ffmpeg: " + text + ")", cause);
            }
            String status = process.isAlive() ? "" : " (exit " + process.exitValue() + ")";
            return new IOException(what + status + (text.isEmpty() ? "" : ": " + text), cause);
        }

        private void waitQuietly() {
            try {
                if (process.waitFor(10, TimeUnit.SECONDS)) errorReader.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() throws IOException {
            if (process == null) return;
            try {
                finish();
                // ffmpeg 5 exits 0 when it cannot write the trailer ("Error writing trailer ...: No
                // space left on device"): at -v error anything it says is an error, so the file is
                // kept only when it exited 0 and said nothing.
                if (process.exitValue() != 0 || !errorText().isEmpty()) throw failure("ffmpeg failed writing " + file, null);
                AtomicFiles.moveIntoPlace(partial, file);
            } finally {
                Files.deleteIfExists(partial); // after a failure; gone already after the rename
            }
        }

        /** After a failed stream: ffmpeg is ended and its file deleted; nothing appears under the video's name. */
        @Override
        public void abandon() throws IOException {
            if (process == null) return;
            try {
                finish();
            } finally {
                Files.deleteIfExists(partial);
            }
        }

        /** Ends ffmpeg's input and waits for it to write the file (or fail). */
        private void finish() throws IOException {
            try {
                pipe.close();
            } catch (IOException ignored) {
                // ffmpeg may have exited; its exit code says why
            }
            try {
                if (!process.waitFor(120, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new IOException("ffmpeg did not finish writing " + file);
                }
                errorReader.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while ffmpeg finished " + file, e);
            }
        }
    }

    /** A Swing window showing the newest frame; closing the window does not stop the stream. */
    static final class Window implements FrameSink {
        private final JFrame frame;
        private final JLabel label = new JLabel();

        Window() throws IOException {
            if (GraphicsEnvironment.isHeadless()) {
                throw new IOException("the preview window needs a display: none is available (headless; is DISPLAY set?)");
            }
            frame = new JFrame("streamdiffusion4j");
            try {
                SwingUtilities.invokeAndWait(() -> {
                    frame.setDefaultCloseOperation(WindowConstants.DISPOSE_ON_CLOSE);
                    frame.getContentPane().add(label, BorderLayout.CENTER);
                    frame.setSize(544, 580);
                    frame.setVisible(true);
                });
            } catch (Exception e) {
                throw new IOException("cannot open the preview window: " + e.getMessage(), e);
            }
        }

        @Override
        public void accept(RgbImage image, long index) {
            BufferedImage img = ImageFiles.toBufferedImage(image);
            SwingUtilities.invokeLater(() -> {
                label.setIcon(new ImageIcon(img));
                if (frame.getWidth() < image.width()) frame.pack();
            });
        }

        @Override
        public boolean lossless() {
            return false;
        }

        @Override
        public String describe() {
            return "preview window";
        }

        @Override
        public void close() {
            SwingUtilities.invokeLater(frame::dispose);
        }
    }

    /** Raw RGB24 frames on a stream. */
    static final class RawOut implements FrameSink {
        private final OutputStream out;
        private final String name;

        RawOut(OutputStream out, String name) {
            this.out = new BufferedOutputStream(out, 1 << 20);
            this.name = name;
        }

        @Override
        public void accept(RgbImage image, long index) throws IOException {
            out.write(image.rgb());
            out.flush();
        }

        @Override
        public boolean lossless() {
            return true;
        }

        @Override
        public String describe() {
            return "raw RGB24 to " + name;
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }

    /** Discards frames. */
    static final class Discard implements FrameSink {
        @Override
        public void accept(RgbImage image, long index) {}

        @Override
        public boolean lossless() {
            return true;
        }

        @Override
        public String describe() {
            return "nowhere";
        }

        @Override
        public void close() {}
    }
}
