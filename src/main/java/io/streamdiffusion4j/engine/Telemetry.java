package io.streamdiffusion4j.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of a running stream: rates, counts and latencies (p50/p95 over the recent frames,
 * milliseconds). Glass-to-glass is capture to sink for the frame a call consumed; it does not
 * include the stream's inherent lag of n - 1 frames (see docs/PARITY.md).
 */
public record Telemetry(
        double inputFps,
        double outputFps,
        long framesIn,
        long framesProcessed,
        long framesOut,
        long droppedInput,
        long droppedOutput,
        long skipped,
        long unetCalls,
        Map<String, double[]> stageMillis,
        double[] glassToGlassMillis,
        double firstFrameModelMillis,
        double[] frameModelMillis,
        double outputSpanSeconds) {

    /**
     * Outputs per second over the whole run, from the first output to the last (the status line's
     * "out" rate covers only the last 3 seconds). Models are warmed up at load (see
     * {@code Warmup}), so that time is not in here; 0 before two outputs.
     */
    public double runOutputFps() {
        return framesOut < 2 || outputSpanSeconds <= 0 ? 0 : (framesOut - 1) / outputSpanSeconds;
    }

    /** The end-of-run summary: the whole run's rate and the first frame's model time against the typical one. */
    public String summaryLine() {
        return String.format("%d frames out, %.2f frames/s from the first output to the last (warm-up at load not included)"
                        + " | model time per call: first %s ms, p50 %s ms, p95 %s ms | dropped %d | skipped %d | unet calls %d",
                framesOut, runOutputFps(), ms(firstFrameModelMillis), ms(frameModelMillis[0]), ms(frameModelMillis[1]),
                droppedInput + droppedOutput, skipped, unetCalls);
    }

    /** One status line for a terminal. */
    public String statusLine() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("in %.1f fps | out %.1f fps (last 3 s) | g2g p50 %s ms", inputFps, outputFps, ms(glassToGlassMillis[0])));
        double[] unet = stageMillis.get("unet");
        if (unet != null) b.append(" | unet p50 ").append(ms(unet[0])).append(" ms");
        b.append(String.format(" | frames %d/%d | dropped %d | skipped %d | unet calls %d", framesOut, framesIn,
                droppedInput + droppedOutput, skipped, unetCalls));
        return b.toString();
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "-" : String.format("%.0f", v);
    }

    static Map<String, double[]> stages(Map<String, LatencyStats> stats) {
        Map<String, double[]> out = new LinkedHashMap<>();
        stats.forEach((k, v) -> out.put(k, new double[] {v.percentileMillis(50), v.percentileMillis(95)}));
        return out;
    }
}
