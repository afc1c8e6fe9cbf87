package io.streamdiffusion4j.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The ffmpeg and ffprobe command-line tools, used over pipes for video in and out (rawvideo
 * rgb24). Checked at start: a missing ffmpeg is a clear error that says how to install it.
 * {@code $FFMPEG} / {@code $FFPROBE} may point to other executables.
 */
public final class Ffmpeg {
    private Ffmpeg() {}

    /**
     * What ffprobe says about a video's first stream: {@code frames} is the number of frames
     * actually in the file (packets counted), {@code declaredFrames} the number its header
     * promises (the stream's frame count, else its duration times the average rate); -1 when unknown.
     */
    public record VideoInfo(int width, int height, double frameRate, long frames, long declaredFrames) {
        /** Fewer frames in the file than its header declares: the end is missing (or damaged). */
        public boolean truncated() {
            return declaredFrames > 0 && frames >= 0 && frames < declaredFrames - slack(declaredFrames);
        }

        /**
         * Frames a complete file may fall short of its declared count: a duration rounds, and
         * variable-rate files drift from their average rate a little.
         */
        static long slack(long declared) {
            return Math.max(2, declared / 50);
        }
    }

    public static String ffmpeg() throws IOException {
        return require("FFMPEG", "ffmpeg");
    }

    static String ffprobe() throws IOException {
        return require("FFPROBE", "ffprobe");
    }

    private static String require(String env, String name) throws IOException {
        String prop = System.getProperty("streamdiffusion4j." + name);
        String exe = prop != null ? prop : System.getenv(env) != null ? System.getenv(env) : name;
        try {
            Process p = new ProcessBuilder(exe, "-version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) return exe;
        } catch (IOException e) {
            // reported below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IOException(name + " was not found (video input and output use it): install ffmpeg"
                + " (Debian/Ubuntu: apt install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg)"
                + " or set " + env + " to its path");
    }

    public static VideoInfo probe(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("video file not found: " + file);
        Process p = new ProcessBuilder(ffprobe(), "-v", "error", "-select_streams", "v:0", "-count_packets",
                "-show_entries", "stream=width,height,r_frame_rate,avg_frame_rate,nb_read_packets,nb_frames,duration:stream_tags=DURATION"
                        + ":format=nb_streams,duration", "-of", "json", file.toString())
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("ffprobe cannot read " + file + ": " + err.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while probing " + file, e);
        }
        JsonNode root = new ObjectMapper().readTree(out);
        JsonNode streams = root.path("streams");
        if (!streams.isArray() || streams.isEmpty()) throw new IOException(file + " has no video stream");
        JsonNode s = streams.get(0);
        int w = s.path("width").asInt();
        int h = s.path("height").asInt();
        if (w <= 0 || h <= 0) throw new IOException(file + ": ffprobe found no frame size");
        double rate = rate(s.path("r_frame_rate").asText("0/1"));
        long frames = s.path("nb_read_packets").asLong(-1);
        return new VideoInfo(w, h, rate, frames, declaredFrames(s, root.path("format"), rate(s.path("avg_frame_rate").asText("0/1"))));
    }

    private static double rate(String fraction) {
        String[] r = fraction.split("/");
        try {
            if (r.length == 2 && Double.parseDouble(r[1]) != 0) return Double.parseDouble(r[0]) / Double.parseDouble(r[1]);
        } catch (NumberFormatException e) {
            // unknown rate
        }
        return 0;
    }

    /**
     * The frame count the file's header promises: MP4/MOV index it; Matroska and WebM give a
     * duration (the stream's, else the file's when the video is its only stream). -1 when unknown.
     */
    private static long declaredFrames(JsonNode stream, JsonNode format, double avgRate) {
        long declared = stream.path("nb_frames").asLong(-1);
        if (declared > 0) return declared;
        if (avgRate <= 0) return -1;
        double seconds = stream.path("duration").asDouble(-1);
        if (seconds <= 0) seconds = hms(stream.path("tags").path("DURATION").asText(""));
        if (seconds <= 0 && format.path("nb_streams").asInt(0) == 1) seconds = format.path("duration").asDouble(-1);
        return seconds > 0 ? Math.round(seconds * avgRate) : -1;
    }

    /** Matroska's DURATION tag, HH:MM:SS.fraction; -1 when absent or malformed. */
    private static double hms(String text) {
        String[] p = text.split(":");
        if (p.length != 3) return -1;
        try {
            return Integer.parseInt(p[0]) * 3600 + Integer.parseInt(p[1]) * 60 + Double.parseDouble(p[2]);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static Process start(List<String> command) throws IOException {
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.PIPE).start();
    }
}
