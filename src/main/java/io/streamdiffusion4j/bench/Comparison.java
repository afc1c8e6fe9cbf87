package io.streamdiffusion4j.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.ToLongFunction;

/**
 * The statistics of one interleaved comparison. Arm 0 is the baseline, arm 1 the control (the
 * baseline's configuration again, as a separate stream, alternated the same way), the others are
 * compared with the baseline.
 *
 * <p>Ratios are taken round by round (arm frame / baseline frame of the same round), so load
 * changes slower than a round cancel. A ratio is reported as the median of those, with the
 * p10-p90 of the single rounds and a 95% interval of the median (bootstrap over the rounds,
 * seeded, so a report can be reproduced from its frames). The control's interval is the noise
 * floor: what a ratio between two runs of the same work looks like here and now. Taken both
 * ways round (the floor of 1.1x covers 1/1.1 too), a ratio whose interval reaches into it is
 * "within noise", never a result.
 *
 * <p>Where the arms share one model (same sessions, only the batches differ), the UNet ratio also
 * has a work bound. Assume that a call costs more the more rows it has, but never more than the
 * same rows split over several calls (cost(1) <= cost(r) <= r cost(1), and cost(a + b) <= cost(a) +
 * cost(b)). Then an arm making calls of b_j rows costs at most sum_j ceil(b_j / m) times a baseline
 * whose largest call has m rows, and at most (its rows) / (the baseline's calls) times it; the
 * lower bound is the same taken the other way round. So n one-row calls against one n-row call
 * lie between 1x and n x; 2n rows against n rows in one call between 1x and 2x. A ratio beyond
 * the noise whose whole interval lies outside the bound is flagged as suspect. The frame ratio,
 * which adds the same VAE and pipeline time to both, is held to the bound widened to include 1.
 */
record Comparison(String title, String what, List<Row> rows, double frameNoise, double unetNoise, int frames,
                  boolean boundApplies) {
    /** Fewer measured frames per arm than this give figures but no verdict. */
    static final int MIN_FRAMES_FOR_VERDICT = 20;
    private static final int RESAMPLES = 2000;
    private static final long BOOTSTRAP_SEED = 15;

    /** One arm: its own figures and, except for the baseline, its ratios to the baseline. */
    record Row(String name, String config, Role role, Spread frameMillis, Spread unetMillis, double callsPerFrame,
               double rowsPerFrame, int[] rowsPerCall, Ratio frame, Ratio unet, double upperBound, double lowerBound) {}

    enum Role { BASELINE, CONTROL, COMPARED }

    /**
     * The round-by-round ratios to the baseline: their median, p10 and p90, the 95% interval of
     * the median, and what they may be said to show.
     */
    record Ratio(double median, double p10, double p90, double low, double high, Verdict verdict) {}

    enum Verdict {
        BASELINE("baseline"),
        NOISE_FLOOR("noise floor"),
        TOO_FEW_FRAMES("too few frames for a verdict"),
        WITHIN_NOISE("within noise"),
        BEYOND_NOISE("beyond noise"),
        OUTSIDE_WORK_BOUND("beyond noise, but outside the work bound: suspect");

        final String words;

        Verdict(String words) {
            this.words = words;
        }
    }

    /**
     * @param boundApplies whether all arms run on the same model sessions, so that the work bound holds
     */
    static Comparison of(String title, String what, List<? extends Arm> arms, List<List<ArmFrame>> measured,
                         boolean boundApplies) {
        if (arms.size() < 2 || arms.size() != measured.size()) {
            throw new IllegalArgumentException("a comparison needs a baseline and a control, and frames for every arm; found "
                    + arms.size() + " arms and " + measured.size() + " series");
        }
        int frames = measured.getFirst().size();
        for (List<ArmFrame> m : measured) {
            if (m.size() != frames) throw new IllegalArgumentException("arms measured unequal numbers of rounds: " + measured.stream().map(List::size).toList());
        }
        List<ArmFrame> base = measured.get(0);
        List<ArmFrame> control = measured.get(1);
        double frameNoise = noise(ratios(control, base, ArmFrame::frameNanos));
        double unetNoise = noise(ratios(control, base, ArmFrame::unetNanos));
        // the floor is the control's interval taken both ways round: ratios within e^-floor..e^floor are noise
        boolean verdicts = frames >= MIN_FRAMES_FOR_VERDICT;
        int[] baseCalls = typicalCalls(base);
        List<Row> rows = new ArrayList<>();
        for (int a = 0; a < arms.size(); a++) {
            List<ArmFrame> m = measured.get(a);
            Role role = a == 0 ? Role.BASELINE : a == 1 ? Role.CONTROL : Role.COMPARED;
            int[] calls = typicalCalls(m);
            double upper = boundApplies ? bound(calls, baseCalls) : Double.NaN;
            double lower = boundApplies ? 1 / bound(baseCalls, calls) : Double.NaN;
            double frameUpper = Math.max(upper, 1);
            double frameLower = Math.min(lower, 1);
            rows.add(new Row(arms.get(a).name(), arms.get(a).config(), role, millis(m, ArmFrame::frameNanos),
                    millis(m, ArmFrame::unetNanos), m.stream().mapToInt(ArmFrame::calls).average().orElse(Double.NaN),
                    m.stream().mapToLong(ArmFrame::rows).average().orElse(Double.NaN), calls,
                    ratio(ratios(m, base, ArmFrame::frameNanos), role, frameNoise, verdicts, frameUpper, frameLower),
                    ratio(ratios(m, base, ArmFrame::unetNanos), role, unetNoise, verdicts, upper, lower), upper, lower));
        }
        return new Comparison(title, what, List.copyOf(rows), frameNoise, unetNoise, frames, boundApplies);
    }

    /** Round-by-round ratios {@code arm / base}. */
    static double[] ratios(List<ArmFrame> arm, List<ArmFrame> base, ToLongFunction<ArmFrame> cost) {
        double[] r = new double[arm.size()];
        for (int i = 0; i < r.length; i++) r[i] = cost.applyAsLong(arm.get(i)) / (double) cost.applyAsLong(base.get(i));
        return r;
    }

    /** The noise floor from the control's ratios: how far (as a log ratio) the 95% interval of their median reaches from 1. */
    static double noise(double[] controlRatios) {
        double[] interval = medianInterval(controlRatios);
        return Math.max(Math.abs(Math.log(interval[0])), Math.abs(Math.log(interval[1])));
    }

    /** The 2.5th and 97.5th percentiles of the medians of resamples (with replacement) of {@code values}. */
    static double[] medianInterval(double[] values) {
        Random random = new Random(BOOTSTRAP_SEED);
        double[] medians = new double[RESAMPLES];
        double[] resample = new double[values.length];
        for (int b = 0; b < RESAMPLES; b++) {
            for (int i = 0; i < values.length; i++) resample[i] = values[random.nextInt(values.length)];
            medians[b] = Spread.of(resample).median();
        }
        Arrays.sort(medians);
        return new double[] {medians[(int) (0.025 * RESAMPLES)], medians[(int) (0.975 * RESAMPLES) - 1]};
    }

    /** The upper bound of the UNet time {@code arm / base} from the rows of their calls (see the class comment). */
    static double bound(int[] armCalls, int[] baseCalls) {
        int largest = Arrays.stream(baseCalls).max().orElse(0);
        if (largest == 0 || armCalls.length == 0) return Double.NaN;
        int split = 0;
        for (int rows : armCalls) split += (rows + largest - 1) / largest;
        double perRow = Arrays.stream(armCalls).sum() / (double) baseCalls.length;
        return Math.min(split, perRow);
    }

    private static Ratio ratio(double[] ratios, Role role, double noise, boolean verdicts, double upper, double lower) {
        Spread s = Spread.of(ratios);
        double[] interval = medianInterval(ratios);
        Verdict v;
        if (role == Role.BASELINE) v = Verdict.BASELINE;
        else if (role == Role.CONTROL) v = Verdict.NOISE_FLOOR;
        else if (!verdicts) v = Verdict.TOO_FEW_FRAMES;
        else if (interval[0] <= Math.exp(noise) && interval[1] >= Math.exp(-noise)) v = Verdict.WITHIN_NOISE;
        // suspect only when the whole interval lies outside the bound: a median just past it may be noise
        else if (interval[0] > upper || interval[1] < lower) v = Verdict.OUTSIDE_WORK_BOUND;
        else v = Verdict.BEYOND_NOISE;
        return new Ratio(s.median(), s.p10(), s.p90(), interval[0], interval[1], v);
    }

    /** The rows per call of the most common call pattern among the frames. */
    private static int[] typicalCalls(List<ArmFrame> frames) {
        int[] best = new int[0];
        int bestCount = 0;
        for (ArmFrame f : frames) {
            int count = 0;
            for (ArmFrame g : frames) if (Arrays.equals(f.rowsPerCall(), g.rowsPerCall())) count++;
            if (count > bestCount) {
                bestCount = count;
                best = f.rowsPerCall();
            }
        }
        return best;
    }

    private static Spread millis(List<ArmFrame> frames, ToLongFunction<ArmFrame> cost) {
        return Spread.of(frames.stream().mapToDouble(f -> cost.applyAsLong(f) / 1e6).toArray());
    }
}
