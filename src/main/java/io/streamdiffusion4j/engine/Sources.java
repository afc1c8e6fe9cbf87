package io.streamdiffusion4j.engine;

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

    /** Every frame of a video file, decoded by ffmpeg to raw RGB24 on a pipe. */
    static final class VideoFile implements FrameSource {
        private final Path file;
        private final Ffmpeg.VideoInfo info;
        private final Process process;
        private final RawStream frames;

        VideoFile(Path file, ImageSizeLimit limit) throws IOException {
            this.file = file;
            String ffmpeg = Ffmpeg.ffmpeg();
            this.info = Ffmpeg.probe(file);
            limit.check("the video stream of " + file, info.width(), info.height()); // before ffmpeg starts
            this.process = new ProcessBuilder(ffmpeg, "-v", "error", "-nostdin", "-i", file.toString(),
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-").redirectError(ProcessBuilder.Redirect.DISCARD).start();
            this.frames = new RawStream(process.getInputStream(), info.width() + "x" + info.height(), file.toString(), limit);
        }

        @Override
        public Frame next() throws IOException {
            return frames.next();
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

        @Override
        public Frame next() throws IOException {
            byte[] rgb = new byte[width * height * 3];
            try {
                in.readFully(rgb);
            } catch (EOFException e) {
                return null; // a partial last frame is not a frame
            }
            return new Frame(index++, System.nanoTime(), new RgbImage(width, height, rgb));
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
