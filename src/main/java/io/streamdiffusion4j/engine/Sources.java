package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.RgbImage;
import java.awt.AWTException;
import java.awt.GraphicsEnvironment;
import java.awt.Rectangle;
import java.awt.Robot;
import java.awt.Toolkit;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * Frame sources and their specs on the command line:
 * <ul>
 *   <li>{@code folder:DIR} (or a folder path): the images of a folder in name order;</li>
 *   <li>{@code image:FILE} (or an image path): one image, repeated (a live source);</li>
 *   <li>{@code video:FILE} (or a video path): every frame of a video file, through ffmpeg;</li>
 *   <li>{@code screen} or {@code screen:X,Y,W,H}: the screen or a region of it (java.awt.Robot);</li>
 *   <li>{@code stdin:WxH}: raw RGB24 frames of W x H on standard input.</li>
 * </ul>
 */
public final class Sources {
    private static final List<String> VIDEO = List.of(".mp4", ".mkv", ".mov", ".avi", ".webm", ".y4m", ".gif", ".m4v");

    private Sources() {}

    /**
     * @param fps pace of live synthetic sources (screen, repeated image); 0 = as fast as possible
     * @param limit the largest input image or raw frame, checked before pixels are allocated
     */
    public static FrameSource open(String spec, double fps, ImageSizeLimit limit) throws IOException {
        int colon = spec.indexOf(':');
        String kind = colon > 0 ? spec.substring(0, colon).toLowerCase(Locale.ROOT) : "";
        String arg = colon > 0 ? spec.substring(colon + 1) : spec;
        switch (kind) {
            case "folder":
                return new FolderSource(Path.of(arg), limit);
            case "image":
                return new RepeatedImage(Path.of(arg), fps, limit);
            case "video":
                return new VideoFile(Path.of(arg), limit);
            case "screen":
                return new Screen(arg, fps);
            case "stdin":
                return new RawStream(System.in, arg, "standard input", limit);
            default:
                break;
        }
        if (spec.equals("screen")) return new Screen("", fps);
        if (spec.equals("stdin")) throw new IOException("stdin needs the frame size: stdin:WxH (raw RGB24 frames)");
        Path p = Path.of(spec);
        if (Files.isDirectory(p)) return new FolderSource(p, limit);
        String name = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (Files.isRegularFile(p) && VIDEO.stream().anyMatch(name::endsWith)) return new VideoFile(p, limit);
        if (Files.isRegularFile(p) && ImageFiles.isImageFile(p)) return new RepeatedImage(p, fps, limit);
        if (!Files.exists(p)) throw new IOException("source not found: " + spec);
        throw new IOException("unknown source '" + spec + "': use folder:DIR, image:FILE, video:FILE, screen[:X,Y,W,H] or stdin:WxH");
    }

    /** The images of a folder, in name order, each delivered once. */
    static final class FolderSource implements FrameSource {
        private final List<Path> files;
        private final ImageCodec codec = ImageCodec.best();
        private final ImageSizeLimit limit;
        private int next;

        FolderSource(Path dir, ImageSizeLimit limit) throws IOException {
            this.files = ImageFiles.list(dir);
            this.limit = limit;
        }

        @Override
        public Frame next() throws IOException {
            if (next >= files.size()) return null;
            RgbImage img = ImageFiles.read(files.get(next), limit, codec);
            return new Frame(next++, System.nanoTime(), img);
        }

        @Override
        public OptionalLong length() {
            return OptionalLong.of(files.size());
        }

        @Override
        public boolean live() {
            return false;
        }

        @Override
        public String describe() {
            return files.size() + " images";
        }

        @Override
        public void close() {}
    }

    /** One image, over and over: a stand-in for a camera pointed at a still scene. */
    static final class RepeatedImage implements FrameSource {
        private final RgbImage image;
        private final Pacer pacer;
        private final Path file;
        private long index;
        private volatile boolean closed;

        RepeatedImage(Path file, double fps, ImageSizeLimit limit) throws IOException {
            this.file = file;
            this.image = ImageFiles.read(file, limit);
            this.pacer = new Pacer(fps > 0 ? fps : 30); // like a camera: unpaced, it would only make drops
        }

        @Override
        public Frame next() throws InterruptedException {
            if (closed) return null;
            pacer.await();
            return new Frame(index++, System.nanoTime(), image);
        }

        @Override
        public boolean live() {
            return true;
        }

        @Override
        public String describe() {
            return "image " + file + " (repeated)";
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /**
     * Every frame of a video file, decoded by ffmpeg to raw RGB24 on a pipe. A file whose header
     * declares more frames than it holds is refused before anything runs; at the end of the pipe,
     * ffmpeg's exit status and the number of frames read tell a complete file from a decoder that
     * died (killed, crashed) or a file that ended early: those are errors, never a normal end.
     */
    static final class VideoFile implements FrameSource {
        /** ffmpeg's error output kept for messages (a damaged file may log an error per frame). */
        private static final int MAX_ERROR_CHARS = 2000;

        private final Path file;
        private final Ffmpeg.VideoInfo info;
        private final Process process;
        private final RawStream frames;
        private final StringBuilder errors = new StringBuilder();
        private final Thread errorReader;
        private volatile boolean closed;

        VideoFile(Path file, ImageSizeLimit limit) throws IOException {
            this.file = file;
            String ffmpeg = Ffmpeg.ffmpeg();
            this.info = Ffmpeg.probe(file);
            limit.check("the video stream of " + file, info.width(), info.height()); // before ffmpeg starts
            if (info.truncated()) {
                throw new InputFileException(file + " is truncated or damaged: its header declares " + info.declaredFrames()
                        + " frames, but only " + info.frames() + " are in the file");
            }
            this.process = new ProcessBuilder(ffmpeg, "-v", "error", "-nostdin", "-i", file.toString(),
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-").start();
            this.errorReader = Thread.ofPlatform().daemon().name("ffmpeg-decode-stderr").start(this::readErrors);
            this.frames = new RawStream(process.getInputStream(), info.width() + "x" + info.height(), file.toString(), limit);
        }

        private void readErrors() {
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(process.getErrorStream(),
                    java.nio.charset.StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (errors) {
                        if (errors.length() < MAX_ERROR_CHARS) errors.append(line.strip()).append("; ");
                    }
                }
            } catch (IOException ignored) {
                // the exit status tells
            }
        }

        @Override
        public Frame next() throws IOException, InterruptedException {
            Frame f;
            try {
                f = frames.next();
            } catch (EOFException partial) {
                if (closed) return null;
                return endOfFrames(partial.getMessage());
            }
            if (f != null || closed) return f;
            return endOfFrames(null);
        }

        /**
         * The pipe ended (inside a frame when {@code partial} says so): a normal end only when
         * ffmpeg succeeded and every frame came.
         */
        private Frame endOfFrames(String partial) throws IOException, InterruptedException {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("the ffmpeg decoding " + file + " closed its output but did not exit");
            }
            errorReader.join(5_000);
            if (closed) return null;
            int code = process.exitValue();
            if (code != 0) {
                throw new IOException("the ffmpeg decoding " + file + (code > 128 ? " was killed (signal " + (code - 128) + ")"
                        : " failed (exit code " + code + ")") + " after " + frames.count() + " of " + expected() + " frames"
                        + errorText() + "; the source ended early");
            }
            if (partial != null) throw new IOException(partial + errorText());
            if (info.frames() > 0 && frames.count() < info.frames() - Ffmpeg.VideoInfo.slack(info.frames())) {
                throw new IOException(file + " ended after " + frames.count() + " of " + info.frames()
                        + " frames: the file is truncated or damaged" + errorText());
            }
            return null;
        }

        private String expected() {
            return info.frames() > 0 ? Long.toString(info.frames()) : "an unknown number of";
        }

        private String errorText() {
            synchronized (errors) {
                String e = errors.toString().strip();
                if (e.endsWith(";")) e = e.substring(0, e.length() - 1);
                return e.isEmpty() ? "" : " (ffmpeg: " + e + ")";
            }
        }

        @Override
        public OptionalLong length() {
            return info.frames() > 0 ? OptionalLong.of(info.frames()) : OptionalLong.empty();
        }

        @Override
        public boolean live() {
            return false;
        }

        @Override
        public double frameRate() {
            return info.frameRate();
        }

        @Override
        public String describe() {
            return "video " + file + " (" + info.width() + "x" + info.height() + ", " + String.format("%.2f", info.frameRate())
                    + " fps" + (info.frames() > 0 ? ", " + info.frames() + " frames" : "") + ")";
        }

        @Override
        public void close() throws IOException {
            closed = true; // a stop, not a failure: the reader's end of pipe is expected now
            process.destroy();
            frames.close();
        }
    }

    /** Raw RGB24 frames of a fixed size on a stream (ffmpeg's output, or standard input). */
    static final class RawStream implements FrameSource {
        private final DataInputStream in;
        private final int width;
        private final int height;
        private final String name;
        private long index;

        RawStream(InputStream in, String size, String name, ImageSizeLimit limit) throws IOException {
            String[] wh = size.toLowerCase(Locale.ROOT).split("x");
            try {
                if (wh.length != 2) throw new NumberFormatException();
                this.width = Integer.parseInt(wh[0]);
                this.height = Integer.parseInt(wh[1]);
            } catch (NumberFormatException e) {
                throw new IOException("frame size must be WxH (e.g. 640x480), found '" + size + "'");
            }
            if (width <= 0 || height <= 0) throw new IOException("frame size must be positive, found " + size);
            limit.check("the frame size of " + name, width, height);
            this.in = new DataInputStream(in);
            this.name = name;
        }

        /**
         * The next frame, or null when the stream ends between frames. A stream that ends inside a
         * frame was cut off (its producer stopped, or the frame size is wrong): that is an error.
         */
        @Override
        public Frame next() throws IOException {
            byte[] rgb = new byte[width * height * 3];
            int have = 0;
            while (have < rgb.length) {
                int n = in.read(rgb, have, rgb.length - have);
                if (n < 0) break;
                have += n;
            }
            if (have == 0) return null;
            if (have < rgb.length) {
                throw new EOFException(name + " ended inside frame " + index + " (" + have + " of " + rgb.length
                        + " bytes of a " + width + "x" + height + " RGB24 frame): the stream was cut off or the frame size is wrong");
            }
            return new Frame(index++, System.nanoTime(), new RgbImage(width, height, rgb));
        }

        /** Frames read so far. */
        long count() {
            return index;
        }

        @Override
        public boolean live() {
            return true;
        }

        @Override
        public String describe() {
            return "raw RGB24 " + width + "x" + height + " from " + name;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** The screen or a region of it, captured with java.awt.Robot (works under Xvfb). */
    static final class Screen implements FrameSource {
        private final Robot robot;
        private final Rectangle region;
        private final Pacer pacer;
        private long index;
        private volatile boolean closed;

        Screen(String regionSpec, double fps) throws IOException {
            if (GraphicsEnvironment.isHeadless()) {
                throw new IOException("screen capture needs a display: none is available (headless; is DISPLAY set?)");
            }
            try {
                this.robot = new Robot();
            } catch (AWTException | SecurityException e) {
                throw new IOException("screen capture is not available: " + e.getMessage(), e);
            }
            if (regionSpec.isBlank()) {
                this.region = new Rectangle(Toolkit.getDefaultToolkit().getScreenSize());
            } else {
                String[] p = regionSpec.split(",");
                try {
                    if (p.length != 4) throw new NumberFormatException();
                    this.region = new Rectangle(Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip()),
                            Integer.parseInt(p[2].strip()), Integer.parseInt(p[3].strip()));
                } catch (NumberFormatException e) {
                    throw new IOException("screen region must be X,Y,W,H, found '" + regionSpec + "'");
                }
                if (region.width <= 0 || region.height <= 0) throw new IOException("screen region must have a size: " + regionSpec);
            }
            this.pacer = new Pacer(fps > 0 ? fps : 30);
        }

        @Override
        public Frame next() throws InterruptedException {
            if (closed) return null;
            pacer.await();
            long t = System.nanoTime();
            return new Frame(index++, t, ImageFiles.fromBufferedImage(robot.createScreenCapture(region)));
        }

        @Override
        public boolean live() {
            return true;
        }

        @Override
        public String describe() {
            return "screen " + region.x + "," + region.y + " " + region.width + "x" + region.height;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** Keeps a live source at its frame rate. */
    static final class Pacer {
        private final long periodNanos;
        private long nextAt;

        Pacer(double fps) {
            this.periodNanos = fps > 0 ? (long) (1e9 / fps) : 0;
        }

        void await() throws InterruptedException {
            if (periodNanos == 0) return;
            long now = System.nanoTime();
            if (nextAt == 0) nextAt = now;
            long wait = nextAt - now;
            if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            nextAt = Math.max(nextAt + periodNanos, System.nanoTime() - periodNanos);
        }
    }
}
