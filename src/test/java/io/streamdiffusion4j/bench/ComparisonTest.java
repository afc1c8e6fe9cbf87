package io.streamdiffusion4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamdiffusion4j.bench.Comparison.Verdict;
import io.streamdiffusion4j.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Medians, ratios, the control's noise floor and the work bound, on made-up frame costs (no timing). */
class ComparisonTest {
    private record NamedArm(String name) implements Arm {
        @Override
        public String config() {
            return "stand-in";
        }

        @Override
        public ArmFrame run(RgbImage input) {
            throw new UnsupportedOperationException("the frames are made up in this test");
        }

        @Override
        public void close() {}
    }

    /**
     * Frames whose cost is {@code load(round) * factor * (1 +- jitter)}: the load is shared by all
     * arms of a round (what alternation pairs away), the jitter is each frame's own noise.
     */
    private static List<ArmFrame> frames(double[] load, double factor, double jitter, Random random, int... rowsPerCall) {
        List<ArmFrame> out = new ArrayList<>();
        for (double l : load) {
            long nanos = Math.round(1e6 * l * factor * (1 + jitter * (2 * random.nextDouble() - 1)));
            out.add(new ArmFrame(nanos, nanos / 2, rowsPerCall));
        }
        return out;
    }

    private static double[] load(int rounds, Random random) {
        double[] l = new double[rounds];
        // a machine whose load swings 4x between rounds
        for (int i = 0; i < rounds; i++) l[i] = 10 * (1 + 3 * random.nextDouble());
        return l;
    }

    private static List<Arm> arms(int n) {
        List<Arm> a = new ArrayList<>();
        for (int i = 0; i < n; i++) a.add(new NamedArm("arm " + i));
        return a;
    }

    @Test
    void spreadUsesNearestRanks() {
        Spread s = Spread.of(new double[] {10, 1, 9, 2, 8, 3, 7, 4, 6, 5});
        assertThat(s.median()).isEqualTo(5);
        assertThat(s.p10()).isEqualTo(1);
        assertThat(s.q1()).isEqualTo(3);
        assertThat(s.q3()).isEqualTo(8);
        assertThat(s.p90()).isEqualTo(9);
        assertThat(Spread.of(new double[] {100, 1, 2}).median()).as("a median, not a mean").isEqualTo(2);
    }

    @Test
    void pairedRatiosCancelLoadSharedByTheRoundAndARealDifferenceIsBeyondNoise() {
        Random random = new Random(1);
        double[] load = load(40, random);
        List<List<ArmFrame>> m = List.of(frames(load, 1, 0.05, random, 2), frames(load, 1, 0.05, random, 2),
                frames(load, 1.6, 0.05, random, 1, 1));
        Comparison c = Comparison.of("t", "arm / baseline", arms(3), m, true);
        Comparison.Row control = c.rows().get(1);
        Comparison.Row compared = c.rows().get(2);
        assertThat(control.frame().verdict()).isEqualTo(Verdict.NOISE_FLOOR);
        assertThat(control.frame().median()).isCloseTo(1, within(0.05));
        assertThat(compared.frame().median()).isCloseTo(1.6, within(0.08));
        assertThat(compared.frame().verdict()).isEqualTo(Verdict.BEYOND_NOISE);
        // the ratio of medians over the swinging load would be far less sure than the paired ratio
        assertThat(compared.frame().high() - compared.frame().low()).isLessThan(0.15);
        assertThat(c.rows().getFirst().frame().verdict()).isEqualTo(Verdict.BASELINE);
    }

    @Test
    void aSmallDifferenceInsideTheControlsSpreadIsWithinNoise() {
        Random random = new Random(2);
        double[] load = load(30, random);
        // each frame's own noise is +-60%: a 10% difference cannot be told from it with 30 frames
        List<List<ArmFrame>> m = List.of(frames(load, 1, 0.6, random, 2), frames(load, 1, 0.6, random, 2),
                frames(load, 1.1, 0.6, random, 2));
        Comparison c = Comparison.of("t", "arm / baseline", arms(3), m, true);
        assertThat(Math.exp(c.frameNoise())).as("noise floor").isGreaterThan(1.1);
        assertThat(c.rows().get(2).frame().verdict()).isEqualTo(Verdict.WITHIN_NOISE);
    }

    @Test
    void fewerThanTwentyFramesGiveFiguresButNoVerdict() {
        Random random = new Random(3);
        double[] load = load(19, random);
        List<List<ArmFrame>> m = List.of(frames(load, 1, 0.01, random, 1), frames(load, 1, 0.01, random, 1),
                frames(load, 3, 0.01, random, 1));
        Comparison c = Comparison.of("t", "arm / baseline", arms(3), m, true);
        assertThat(c.rows().get(2).frame().median()).isCloseTo(3, within(0.1));
        assertThat(c.rows().get(2).frame().verdict()).isEqualTo(Verdict.TOO_FEW_FRAMES);
    }

    @Test
    void callsAndRowsPerFrameAreCountedFromTheFrames() {
        Random random = new Random(4);
        double[] load = load(20, random);
        List<List<ArmFrame>> m = List.of(frames(load, 1, 0, random, 4), frames(load, 1, 0, random, 4),
                frames(load, 1, 0, random, 1, 1, 1, 1));
        Comparison c = Comparison.of("t", "arm / baseline", arms(3), m, true);
        assertThat(c.rows().get(0).callsPerFrame()).isEqualTo(1);
        assertThat(c.rows().get(0).rowsPerFrame()).isEqualTo(4);
        assertThat(c.rows().get(2).callsPerFrame()).isEqualTo(4);
        assertThat(c.rows().get(2).rowsPerFrame()).isEqualTo(4);
        assertThat(c.rows().get(2).rowsPerCall()).containsExactly(1, 1, 1, 1);
    }

    @Test
    void workBoundFollowsTheRowsOfTheCalls() {
        // n = 2: two 1-row calls cannot take more than twice one 2-row call, nor less than it
        assertThat(Comparison.bound(new int[] {1, 1}, new int[] {2})).isEqualTo(2);
        assertThat(1 / Comparison.bound(new int[] {2}, new int[] {1, 1})).isEqualTo(1);
        assertThat(Comparison.bound(new int[] {1, 1, 1, 1}, new int[] {4})).isEqualTo(4);
        // full CFG (2n rows in one call) against self (n rows): between 1x and 2x
        assertThat(Comparison.bound(new int[] {10}, new int[] {5})).isEqualTo(2);
        assertThat(1 / Comparison.bound(new int[] {5}, new int[] {10})).isEqualTo(1);
        // initialize (n + 1 rows) against self (n rows): between 1x and 2x
        assertThat(Comparison.bound(new int[] {6}, new int[] {5})).isEqualTo(2);
        assertThat(Comparison.bound(new int[] {5}, new int[] {6})).isEqualTo(1);
        // three 1-row calls against one: exactly 3x the UNet work
        assertThat(Comparison.bound(new int[] {1, 1, 1}, new int[] {1})).isEqualTo(3);
        assertThat(1 / Comparison.bound(new int[] {1}, new int[] {1, 1, 1})).isEqualTo(3);
    }

    @Test
    void aRatioBeyondTheWorkBoundIsFlaggedAndOnlyWhereTheBoundApplies() {
        Random random = new Random(5);
        double[] load = load(24, random);
        // "sequential" at n = 2 measured 2.7x "stream batch": more than two 1-row calls can cost
        List<List<ArmFrame>> m = List.of(frames(load, 1, 0.02, random, 2), frames(load, 1, 0.02, random, 2),
                frames(load, 2.7, 0.02, random, 1, 1));
        Comparison shared = Comparison.of("t", "arm / baseline", arms(3), m, true);
        assertThat(shared.rows().get(2).upperBound()).isEqualTo(2);
        assertThat(shared.rows().get(2).lowerBound()).isEqualTo(1);
        assertThat(shared.rows().get(2).frame().verdict()).isEqualTo(Verdict.OUTSIDE_WORK_BOUND);
        Comparison separate = Comparison.of("t", "arm / baseline", arms(3), m, false);
        assertThat(separate.rows().get(2).frame().verdict()).isEqualTo(Verdict.BEYOND_NOISE);
        assertThat(separate.rows().get(2).upperBound()).isNaN();
    }

    @Test
    void theNoiseFloorComesFromTheControlArm() {
        Random random = new Random(6);
        double[] load = load(40, random);
        List<ArmFrame> base = frames(load, 1, 0.02, random, 1);
        Comparison quiet = Comparison.of("t", "x", arms(3),
                List.of(base, frames(load, 1, 0.02, random, 1), frames(load, 1.3, 0.02, random, 2)), true);
        Comparison noisyControl = Comparison.of("t", "x", arms(3),
                List.of(base, frames(load, 1.4, 0.02, random, 1), frames(load, 1.3, 0.02, random, 2)), true);
        assertThat(quiet.rows().get(2).frame().verdict()).isEqualTo(Verdict.BEYOND_NOISE);
        // the same 1.3x is noise when the baseline against itself already differs 1.4x
        assertThat(noisyControl.rows().get(2).frame().verdict()).isEqualTo(Verdict.WITHIN_NOISE);
        assertThat(Math.exp(noisyControl.frameNoise())).isGreaterThan(1.35);
    }
}
