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

    /** What ffprobe says about a video's first stream. */
    public record VideoInfo(int width, int height, double frameRate, long frames) {}

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
                "-show_entries", "stream=width,height,r_frame_rate,nb_read_packets", "-of", "json", file.toString())
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
        JsonNode streams = new ObjectMapper().readTree(out).path("streams");
        if (!streams.isArray() || streams.isEmpty()) throw new IOException(file + " has no video stream");
        JsonNode s = streams.get(0);
        int w = s.path("width").asInt();
        int h = s.path("height").asInt();
        if (w <= 0 || h <= 0) throw new IOException(file + ": ffprobe found no frame size");
        double rate = 0;
        String[] r = s.path("r_frame_rate").asText("0/1").split("/");
        if (r.length == 2 && Double.parseDouble(r[1]) != 0) rate = Double.parseDouble(r[0]) / Double.parseDouble(r[1]);
        long frames = s.path("nb_read_packets").asLong(-1);
        return new VideoInfo(w, h, rate, frames);
    }

    static Process start(List<String> command) throws IOException {
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.PIPE).start();
    }
}
