package io.streamdiffusion4j.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * The statistics of one interleaved comparison. Arm 0 is the baseline, arm 1 the control (the
 * baseline's configuration again, as a separate stream, alternated the same way), the others are
 * compared with the baseline.
 *
 * <p>Ratios are taken round by round (arm frame / baseline frame of the same round) and reported
 * as their median and p10-p90. The control's round-by-round ratios show how far two runs of the
 * same work differ here and now: its noise floor is the larger of |ln p10| and |ln p90|. A ratio
 * whose median lies within that floor of 1 is reported as "within noise", never as a result.
 *
 * <p>Where the arms share one model (same sessions, only the batches differ), a ratio also has a
 * work bound: with a call's cost rising with its rows and never more than the cost of the same
 * rows split over several calls, an arm making calls of b_j rows can take at most
 * sum_j ceil(b_j / m) times the baseline, whose largest call has m rows (and at least the inverse
 * of the same sum taken the other way). A measured median outside that bound is flagged.
 */
record Comparison(String title, String what, List<Row> rows, double frameNoise, double unetNoise, int frames,
                  boolean boundApplies) {
    /** Fewer measured frames per arm than this give figures but no verdict. */
    static final int MIN_FRAMES_FOR_VERDICT = 20;

    /** One arm: its own figures and, except for the baseline, its ratios to the baseline. */
    record Row(String name, String config, Role role, Spread frameMillis, Spread unetMillis, double callsPerFrame,
               double rowsPerFrame, int[] rowsPerCall, Ratio frame, Ratio unet, double upperBound, double lowerBound) {}

    enum Role { BASELINE, CONTROL, COMPARED }

    /** Median and p10-p90 of the round-by-round ratios to the baseline, and what they may be said to show. */
    record Ratio(double median, double p10, double p90, Verdict verdict) {}

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
        boolean verdicts = frames >= MIN_FRAMES_FOR_VERDICT;
        int[] baseCalls = typicalCalls(base);
        List<Row> rows = new ArrayList<>();
        for (int a = 0; a < arms.size(); a++) {
            List<ArmFrame> m = measured.get(a);
            Role role = a == 0 ? Role.BASELINE : a == 1 ? Role.CONTROL : Role.COMPARED;
            int[] calls = typicalCalls(m);
            double upper = boundApplies ? bound(calls, baseCalls) : Double.NaN;
            double lower = boundApplies ? 1 / bound(baseCalls, calls) : Double.NaN;
            rows.add(new Row(arms.get(a).name(), arms.get(a).config(), role, millis(m, ArmFrame::frameNanos),
                    millis(m, ArmFrame::unetNanos), m.stream().mapToInt(ArmFrame::calls).average().orElse(Double.NaN),
                    m.stream().mapToLong(ArmFrame::rows).average().orElse(Double.NaN), calls,
                    ratio(ratios(m, base, ArmFrame::frameNanos), role, frameNoise, verdicts, upper, lower),
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

    /** The noise floor from the control's ratios: how far (as a log ratio) their p10 and p90 lie from 1. */
    static double noise(double[] controlRatios) {
        Spread s = Spread.of(controlRatios);
        return Math.max(Math.abs(Math.log(s.p10())), Math.abs(Math.log(s.p90())));
    }

    /** The upper bound of {@code arm / base} from the rows of their calls (see the class comment). */
    static double bound(int[] armCalls, int[] baseCalls) {
        int largest = Arrays.stream(baseCalls).max().orElse(0);
        if (largest == 0 || armCalls.length == 0) return Double.NaN;
        int sum = 0;
        for (int rows : armCalls) sum += (rows + largest - 1) / largest;
        return sum;
    }

    private static Ratio ratio(double[] ratios, Role role, double noise, boolean verdicts, double upper, double lower) {
        Spread s = Spread.of(ratios);
        Verdict v;
        if (role == Role.BASELINE) v = Verdict.BASELINE;
        else if (role == Role.CONTROL) v = Verdict.NOISE_FLOOR;
        else if (!verdicts) v = Verdict.TOO_FEW_FRAMES;
        else if (Math.abs(Math.log(s.median())) <= noise) v = Verdict.WITHIN_NOISE;
        else if (s.median() > upper || s.median() < lower) v = Verdict.OUTSIDE_WORK_BOUND;
        else v = Verdict.BEYOND_NOISE;
        return new Ratio(s.median(), s.p10(), s.p90(), v);
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

    /** The noise floor as a plus-minus percentage. */
    static double percent(double logNoise) {
        return (Math.exp(logNoise) - 1) * 100;
    }
}
