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

    /**
     * An alternated comparison: every arm's median and p10-p90, UNet calls and rows counted per
     * frame, and each ratio to the baseline with its verdict against the control's noise floor.
     */
    void comparison(Comparison c, String loadBefore, String loadAfter) {
        ObjectNode o = root.withArrayProperty("comparisons").addObject();
        o.put("title", c.title());
        o.put("ratios", c.what());
        o.put("frames_per_arm", c.frames());
        o.put("load_average_before", loadBefore);
        o.put("load_average_after", loadAfter);
        o.put("noise_floor_frame_low", Math.exp(-c.frameNoise()));
        o.put("noise_floor_frame_high", Math.exp(c.frameNoise()));
        o.put("noise_floor_unet_low", Math.exp(-c.unetNoise()));
        o.put("noise_floor_unet_high", Math.exp(c.unetNoise()));
        o.put("work_bound_applies", c.boundApplies());
        ArrayNode arms = o.putArray("arms");
        for (Comparison.Row r : c.rows()) {
            ObjectNode a = arms.addObject();
            a.put("name", r.name());
            a.put("config", r.config());
            a.put("role", r.role().name().toLowerCase(Locale.ROOT));
            a.set("frame_ms", spread(r.frameMillis()));
            a.set("unet_ms", spread(r.unetMillis()));
            a.put("unet_calls_per_frame", r.callsPerFrame());
            a.put("unet_rows_per_frame", r.rowsPerFrame());
            ArrayNode calls = a.putArray("rows_per_call");
            for (int rows : r.rowsPerCall()) calls.add(rows);
            if (r.role() != Comparison.Role.BASELINE) {
                a.set("frame_ratio", ratio(r.frame()));
                a.set("unet_ratio", ratio(r.unet()));
                if (c.boundApplies()) {
                    a.put("work_bound_upper", r.upperBound());
                    a.put("work_bound_lower", r.lowerBound());
                }
            }
        }

        Comparison.Row base = c.rows().getFirst();
        md.append("#### ").append(c.title()).append("\n\n");
        md.append(base.config()).append(". ").append(c.frames()).append(" measured frames per configuration, alternated frame by")
                .append(" frame; load average (1, 5, 15 min) ").append(loadBefore).append(" before, ").append(loadAfter)
                .append(" after. Ratios: ").append(c.what()).append(", round by round: median [95% interval of the median]. ");
        md.append(String.format(Locale.ROOT, "Noise floor (the control's interval, both ways round): frame time %s, UNet time %s.%n%n",
                floorText(c.frameNoise()), floorText(c.unetNoise())));
        md.append("| configuration | frame ms, median (p10-p90) | UNet ms, median (p10-p90) | UNet calls/frame | UNet rows/frame"
                + " (per call) | frame ratio | UNet ratio | work bound | verdict (frame; UNet) |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Comparison.Row r : c.rows()) {
            boolean baseline = r.role() == Comparison.Role.BASELINE;
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s %s | %s | %s | %s | %s |%n", r.name(),
                    spreadText(r.frameMillis()), spreadText(r.unetMillis()), number(r.callsPerFrame()), number(r.rowsPerFrame()),
                    java.util.Arrays.toString(r.rowsPerCall()), baseline ? "1" : ratioText(r.frame()),
                    baseline ? "1" : ratioText(r.unet()), baseline || !c.boundApplies() ? "" : boundText(r),
                    baseline ? "baseline" : r.frame().verdict().words + "; " + r.unet().verdict().words));
        }
        md.append('\n');
    }

    private static String spreadText(Spread s) {
        return String.format(Locale.ROOT, "%s (%s-%s)", number(s.median()), number(s.p10()), number(s.p90()));
    }

    private static String ratioText(Comparison.Ratio r) {
        return String.format(Locale.ROOT, "%.2fx [%.2f-%.2f]", r.median(), r.low(), r.high());
    }

    private static String floorText(double logNoise) {
        return String.format(Locale.ROOT, "%.2f-%.2fx", Math.exp(-logNoise), Math.exp(logNoise));
    }

    private static String boundText(Comparison.Row r) {
        return String.format(Locale.ROOT, "%.2f-%.0fx", r.lowerBound(), r.upperBound());
    }

    private static String number(double v) {
        if (Double.isNaN(v)) return "n/a";
        if (v >= 100) return String.format(Locale.ROOT, "%.0f", v);
        if (v >= 10) return String.format(Locale.ROOT, "%.1f", v);
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static ObjectNode spread(Spread s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("count", s.count());
        o.put("p10", s.p10());
        o.put("q1", s.q1());
        o.put("median", s.median());
        o.put("q3", s.q3());
        o.put("p90", s.p90());
        return o;
    }

    private static ObjectNode ratio(Comparison.Ratio r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("median", r.median());
        o.put("p10", r.p10());
        o.put("p90", r.p90());
        o.put("median_interval_95_low", r.low());
        o.put("median_interval_95_high", r.high());
        o.put("verdict", r.verdict().words);
        return o;
    }

    /**
     * One arm of the sessions experiment over its measured rounds.
     *
     * @param roundNanos the rounds' total time (each round: every session makes one frame)
     * @param latency every session's frames, from the round's start to its image
     * @param modelCalls UNet calls made to the model (a batched call counts once)
     * @param batching what the batcher did, or null for separate calls
     */
    record SessionsRow(String name, int sessions, int rounds, long roundNanos, Percentiles latency, long modelCalls,
                       io.streamdiffusion4j.batching.BatchStats batching) {
        double totalFramesPerSecond() {
            return sessions * rounds / (roundNanos / 1e9);
        }

        double perSessionFramesPerSecond() {
            return rounds / (roundNanos / 1e9);
        }

        double modelCallsPerFrame() {
            return modelCalls / (double) (sessions * rounds);
        }
    }

    /** The sessions experiment's throughput and latency table for one session count (after its comparison). */
    void sessions(int sessions, java.time.Duration window, List<SessionsRow> rows) {
        ArrayNode a = root.withObjectProperty("sessions").putArray(sessions + "_sessions");
        md.append(String.format(Locale.ROOT, "%d concurrent session(s), every session given each frame at the same moment;"
                + " batched arms gather for at most %s ms.%n%n", sessions, number(window.toNanos() / 1e6)));
        md.append("| configuration | frames/s total | frames/s per session | latency p50 | p95 | UNet calls/frame"
                + " | sessions per UNet call | gather wait per call (mean) | windows that passed |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        for (SessionsRow r : rows) {
            ObjectNode o = a.addObject();
            o.put("name", r.name());
            o.put("sessions", r.sessions());
            o.put("rounds", r.rounds());
            o.put("frames_per_second_total", r.totalFramesPerSecond());
            o.put("frames_per_second_per_session", r.perSessionFramesPerSecond());
            o.set("latency_ms", percentiles(r.latency()));
            o.put("unet_model_calls_per_frame", r.modelCallsPerFrame());
            String perCall = "1";
            String wait = "";
            String passed = "";
            if (r.batching() != null) {
                o.put("sessions_per_unet_call", r.batching().streamsPerCall());
                double waitMs = r.batching().modelCalls() == 0 ? Double.NaN : r.batching().waitNanos() / 1e6 / r.batching().modelCalls();
                o.put("gather_wait_ms_mean", waitMs);
                o.put("gather_windows_passed", r.batching().timeouts());
                perCall = number(r.batching().streamsPerCall());
                wait = ms(waitMs);
                passed = r.batching().timeouts() + " of " + r.batching().modelCalls();
            }
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.name(),
                    number(r.totalFramesPerSecond()), number(r.perSessionFramesPerSecond()), ms(r.latency().p50()),
                    ms(r.latency().p95()), number(r.modelCallsPerFrame()), perCall, wait, passed));
        }
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

    /** How far the frames of a stream with pre-computed conditioning are from those of the same stream without. */
    void precomputeDifference(int frames, double largest, int precomputedValues) {
        ObjectNode n = root.putObject("precompute_output_difference");
        n.put("frames", frames);
        n.put("largest_abs_difference", largest);
        n.put("precomputed_values", precomputedValues);
        md.append(String.format(Locale.ROOT, "Pre-computed conditioning (%d values per prompt) against none: largest output"
                + " difference over %d frames %.3g%n%n", precomputedValues, frames, largest));
    }

    /** PSNR of arms' frames against the baseline's frames of the same rounds, in dB (infinite: identical). */
    void quality(String title, List<String> arms, List<double[]> psnrs) {
        ObjectNode q = root.withObjectProperty("quality").putObject(key(title));
        md.append("PSNR of each frame against the float32 baseline's frame of the same round (8-bit RGB, dB; inf: identical):\n\n");
        md.append("| arm | frames | min | p10 | median | mean MSE as PSNR |\n|---|---|---|---|---|---|\n");
        for (int a = 0; a < arms.size(); a++) {
            double[] p = psnrs.get(a);
            double[] sorted = p.clone();
            java.util.Arrays.sort(sorted);
            // the PSNR of the mean squared error over all frames (one number that averages errors, not dB)
            double mse = 0;
            for (double v : p) mse += Double.isInfinite(v) ? 0 : 255.0 * 255.0 / Math.pow(10, v / 10);
            mse /= p.length;
            double pooled = mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(255.0 * 255.0 / mse);
            ObjectNode o = q.putObject(key(arms.get(a)));
            o.put("frames", p.length);
            o.put("min_db", sorted[0]);
            o.put("p10_db", sorted[(int) (0.1 * (sorted.length - 1))]);
            o.put("median_db", sorted[sorted.length / 2]);
            o.put("pooled_db", pooled);
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s |%n", arms.get(a), p.length, db(sorted[0]),
                    db(sorted[(int) (0.1 * (sorted.length - 1))]), db(sorted[sorted.length / 2]), db(pooled)));
        }
        md.append('\n');
    }

    private static String db(double v) {
        return Double.isInfinite(v) ? "inf" : String.format(Locale.ROOT, "%.1f", v);
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

    /** A size in binary units (KiB = 1024 B, MiB, GiB), as ps, top, free and /usr/bin/time state memory. */
    static String bytes(long b) {
        if (b < 0) return "n/a";
        if (b < 10L << 10) return b + " B";
        if (b < 10L << 20) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        if (b < 10L << 30) return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
    }
}
