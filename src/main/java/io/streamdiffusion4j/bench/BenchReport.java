package io.streamdiffusion4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The benchmark's results as JSON (every number) and as Markdown tables (for docs/PERFORMANCE.md). */
public final class BenchReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ObjectNode root = JSON.createObjectNode();
    private final StringBuilder md = new StringBuilder();

    /** One row of a two-way comparison (stream batch vs sequential). */
    record Pair(int steps, RunSummary batch, RunSummary sequential) {}

    void header(Map<String, String> facts) {
        ObjectNode h = root.putObject("setup");
        facts.forEach(h::put);
        md.append("| | |\n|---|---|\n");
        facts.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v.replace("|", "\\|")).append(" |\n"));
        md.append('\n');
    }

    void pipeline(String title, RunSummary run, long[] rawNanos, long peakRss) {
        ObjectNode p = root.withObjectProperty("pipeline").putObject(key(title));
        p.set("run", summary(run));
        p.put("peak_rss_bytes", peakRss);
        Percentiles raw = Percentiles.ofNanos(rawNanos);
        p.set("raw_model_calls_ms", percentiles(raw));
        Percentiles lat = run.latency();
        double inside = run.meanMillis(FrameSample::modelRuntime);
        p.put("model_runtime_inside_frame_ms_mean", inside);
        p.put("pipeline_over_model_runtime", lat.mean() / inside);
        p.put("pipeline_over_raw_model_calls", lat.mean() / raw.mean());
        p.put("pipeline_over_raw_model_calls_p50", lat.p50() / raw.p50());

        md.append("### ").append(title).append("\n\n").append(run.config()).append(", ").append(run.count())
                .append(" measured frames.\n\n");
        md.append("| frames/s | latency p50 | p95 | p99 | UNet rows/frame | peak RSS | allocated/frame (img2img call) | allocated/frame (with pre/post) |\n");
        md.append("|---|---|---|---|---|---|---|---|\n");
        md.append(String.format(Locale.ROOT, "| %.3f | %s | %s | %s | %.1f | %s | %s | %s |%n%n", run.framesPerSecond(),
                ms(lat.p50()), ms(lat.p95()), ms(lat.p99()), run.unetRowsPerFrame(), bytes(peakRss),
                bytes(run.allocatedPerCall()), bytes(run.allocatedPerFrame())));
        md.append("| stage (mean) | preprocess | VAE encode | UNet (ONNX Runtime) | rest of denoise | VAE decode | postprocess | total |\n");
        md.append("|---|---|---|---|---|---|---|---|\n");
        md.append(String.format(Locale.ROOT, "| ms | %s | %s | %s | %s | %s | %s | %s |%n%n",
                ms(run.meanMillis(FrameSample::preprocess)), ms(run.meanMillis(FrameSample::encode)),
                ms(run.meanMillis(FrameSample::unet)), ms(run.meanMillis(FrameSample::denoise)),
                ms(run.meanMillis(FrameSample::decode)), ms(run.meanMillis(FrameSample::postprocess)), ms(lat.mean())));
        md.append("| pipeline overhead | mean | p50 |\n|---|---|---|\n");
        md.append(String.format(Locale.ROOT, "| whole pipeline frame | %s | %s |%n", ms(lat.mean()), ms(lat.p50())));
        md.append(String.format(Locale.ROOT, "| ONNX Runtime inside that frame (encoder + UNet + decoder runs) | %s | |%n", ms(inside)));
        md.append(String.format(Locale.ROOT, "| the same model calls alone, interleaved with the frames | %s | %s |%n", ms(raw.mean()), ms(raw.p50())));
        md.append(String.format(Locale.ROOT, "| pipeline / model time inside the frame | %.4f | |%n", lat.mean() / inside));
        md.append(String.format(Locale.ROOT, "| pipeline / model calls alone | %.4f | %.4f |%n%n", lat.mean() / raw.mean(), lat.p50() / raw.p50()));
    }

    void loads(String what, double seconds, List<String> sessions) {
        ObjectNode l = root.withObjectProperty("loads").putObject(key(what));
        l.put("seconds", seconds);
        ArrayNode s = l.putArray("sessions");
        sessions.forEach(s::add);
        md.append(String.format(Locale.ROOT, "- load (%s): %.1f s%n", what, seconds));
        for (String x : sessions) md.append("  - ").append(x).append('\n');
    }

    void blankLine() {
        md.append('\n');
    }

    void staticShapes(RunSummary fixed, RunSummary dynamic) {
        ObjectNode s = root.putObject("static_shapes");
        s.set("static", summary(fixed));
        s.set("dynamic", summary(dynamic));
        md.append("### Static against dynamic shapes\n\n").append(fixed.config()).append(".\n\n");
        md.append("| sessions | frames/s | latency p50 | mean | UNet mean |\n|---|---|---|---|---|\n");
        for (RunSummary r : List.of(fixed, dynamic)) {
            Percentiles l = r.latency();
            md.append(String.format(Locale.ROOT, "| %s | %.3f | %s | %s | %s |%n", r.name(), r.framesPerSecond(), ms(l.p50()),
                    ms(l.mean()), ms(r.meanMillis(FrameSample::unet))));
        }
        md.append(String.format(Locale.ROOT, "%nstatic / dynamic (mean frame time): %.3f%n%n", fixed.latency().mean() / dynamic.latency().mean()));
    }

    void streamBatch(List<Pair> pairs) {
        ArrayNode a = root.putArray("stream_batch");
        md.append("### Stream Batch against the sequential loop\n\n");
        if (!pairs.isEmpty()) md.append(pairs.getFirst().batch().config()).append(" (t_index_list varies).\n\n");
        md.append("| steps n | stream batch ms/frame (p50) | UNet calls/frame | sequential ms/frame (p50) | UNet calls/frame | sequential / batch |\n");
        md.append("|---|---|---|---|---|---|\n");
        for (Pair p : pairs) {
            ObjectNode o = a.addObject();
            o.put("steps", p.steps());
            o.set("batch", summary(p.batch()));
            o.set("sequential", summary(p.sequential()));
            double ratio = p.sequential().latency().mean() / p.batch().latency().mean();
            o.put("sequential_over_batch", ratio);
            md.append(String.format(Locale.ROOT, "| %d | %s (%s) | 1 | %s (%s) | %d | %.2fx |%n", p.steps(),
                    ms(p.batch().latency().mean()), ms(p.batch().latency().p50()), ms(p.sequential().latency().mean()),
                    ms(p.sequential().latency().p50()), p.steps(), ratio));
        }
        md.append('\n');
    }

    void rcfg(Map<Integer, Map<String, RunSummary>> byStep) {
        ObjectNode r = root.putObject("rcfg");
        md.append("### RCFG: UNet rows and time per frame\n\n");
        md.append("| steps n | none: rows, ms | self: rows, ms | initialize: rows, ms | full: rows, ms | full / self (frame) | full / self (UNet) |\n");
        md.append("|---|---|---|---|---|---|---|\n");
        byStep.forEach((n, byCfg) -> {
            ObjectNode o = r.putObject(Integer.toString(n));
            StringBuilder row = new StringBuilder("| " + n + " |");
            for (String cfg : List.of("none", "self", "initialize", "full")) {
                RunSummary s = byCfg.get(cfg);
                o.set(cfg, summary(s));
                row.append(String.format(Locale.ROOT, " %.0f, %s |", s.unetRowsPerFrame(), ms(s.latency().mean())));
            }
            double frame = byCfg.get("full").latency().mean() / byCfg.get("self").latency().mean();
            double unet = byCfg.get("full").meanMillis(FrameSample::unet) / byCfg.get("self").meanMillis(FrameSample::unet);
            o.put("full_over_self_frame", frame);
            o.put("full_over_self_unet", unet);
            md.append(row).append(String.format(Locale.ROOT, " %.2fx | %.2fx |%n", frame, unet));
        });
        md.append('\n');
    }

    void similarityFilter(RunSummary still, RunSummary moving) {
        ObjectNode s = root.putObject("similarity_filter");
        md.append("### Stochastic Similarity Filter\n\n").append(still.config()).append(".\n\n");
        md.append("| input | frames | skipped | skip rate | UNet calls | UNet calls saved | ms/frame (mean) |\n");
        md.append("|---|---|---|---|---|---|---|\n");
        for (RunSummary r : List.of(still, moving)) {
            ObjectNode o = s.putObject(key(r.name()));
            o.set("run", summary(r));
            long skipped = r.skipped();
            o.put("skipped", skipped);
            o.put("skip_rate", skipped / (double) r.count());
            md.append(String.format(Locale.ROOT, "| %s | %d | %d | %.0f%% | %d | %d | %s |%n", r.name(), r.count(), skipped,
                    100.0 * skipped / r.count(), r.count() - skipped, skipped, ms(r.latency().mean())));
        }
        md.append('\n');
    }

    void naive(RunSummary naive, RunSummary stream) {
        ObjectNode n = root.putObject("naive_baseline");
        n.set("naive", summary(naive));
        n.set("stream", summary(stream));
        double speedup = naive.latency().mean() / stream.latency().mean();
        n.put("speedup", speedup);
        md.append("### Naive per-frame img2img against the stream\n\n");
        md.append("| pipeline | setup | frames/s | ms/frame mean (p50) | text encoder | VAE encode | UNet | VAE decode | UNet rows/frame |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        for (RunSummary r : List.of(naive, stream)) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %s (%s) | %s | %s | %s | %s | %.0f |%n", r.name(), r.config(),
                    r.framesPerSecond(), ms(r.latency().mean()), ms(r.latency().p50()), ms(r.meanMillis(FrameSample::text)),
                    ms(r.meanMillis(FrameSample::encode)), ms(r.meanMillis(FrameSample::unet)),
                    ms(r.meanMillis(FrameSample::decode)), r.unetRowsPerFrame()));
        }
        md.append(String.format(Locale.ROOT, "%nstream speed-up over the naive baseline: %.2fx%n%n", speedup));
    }

    void note(String text) {
        root.withArrayProperty("notes").add(text);
        md.append(text).append("\n\n");
    }

    public String json() {
        try {
            return JSON.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write the report as JSON", e);
        }
    }

    public String markdown() {
        return md.toString();
    }

    private static ObjectNode summary(RunSummary r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", r.name());
        o.put("config", r.config());
        o.put("frames", r.count());
        o.put("frames_per_second", r.framesPerSecond());
        o.set("latency_ms", percentiles(r.latency()));
        ObjectNode st = o.putObject("stage_mean_ms");
        st.put("preprocess", r.meanMillis(FrameSample::preprocess));
        st.put("text_encoder", r.meanMillis(FrameSample::text));
        st.put("vae_encode", r.meanMillis(FrameSample::encode));
        st.put("unet", r.meanMillis(FrameSample::unet));
        st.put("denoise_rest", r.meanMillis(FrameSample::denoise));
        st.put("vae_decode", r.meanMillis(FrameSample::decode));
        st.put("postprocess", r.meanMillis(FrameSample::postprocess));
        st.put("model_runtime", r.meanMillis(FrameSample::modelRuntime));
        o.put("unet_rows_per_frame", r.unetRowsPerFrame());
        o.put("skipped", r.skipped());
        o.put("allocated_bytes_per_call_median", r.allocatedPerCall());
        o.put("allocated_bytes_per_frame_median", r.allocatedPerFrame());
        return o;
    }

    private static ObjectNode percentiles(Percentiles p) {
        ObjectNode o = JSON.createObjectNode();
        o.put("count", p.count());
        o.put("mean", p.mean());
        o.put("min", p.min());
        o.put("p50", p.p50());
        o.put("p95", p.p95());
        o.put("p99", p.p99());
        o.put("max", p.max());
        return o;
    }

    private static String key(String title) {
        return title.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_").replaceAll("^_|_$", "");
    }

    static String ms(double millis) {
        if (Double.isNaN(millis)) return "n/a";
        return millis >= 100 ? String.format(Locale.ROOT, "%.0f ms", millis) : String.format(Locale.ROOT, "%.2f ms", millis);
    }

    static String bytes(long b) {
        if (b < 0) return "n/a";
        if (b < 10_000) return b + " B";
        if (b < 10_000_000) return String.format(Locale.ROOT, "%.1f KB", b / 1e3);
        if (b < 10_000_000_000L) return String.format(Locale.ROOT, "%.1f MB", b / 1e6);
        return String.format(Locale.ROOT, "%.2f GB", b / 1e9);
    }
}
