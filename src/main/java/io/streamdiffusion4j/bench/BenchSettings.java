package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.image.RgbImage;
import java.util.EnumSet;
import java.util.List;

/**
 * How much to measure.
 *
 * @param warmup frames run before measuring each configuration (in comparisons: warm-up rounds, alternated too)
 * @param frames measured frames of the configured stream (and of the naive baseline)
 * @param sweepWidth image width of the comparisons run on many configurations (stream batch, RCFG, similarity filter)
 * @param sweepHeight image height of those
 * @param compareFrames measured frames per arm of an alternated comparison (verdicts need
 *     {@link Comparison#MIN_FRAMES_FOR_VERDICT})
 * @param order the order of the arms within each round of a comparison
 * @param seed seeds the random order
 * @param rcfgSteps the numbers of denoising steps n of the RCFG comparison
 * @param filterFrames frames per input of the similarity-filter comparison
 * @param staticShapes also load sessions with the configured stream's static shapes
 * @param input frames to stream (any size; resized like the original), or null for synthetic moving frames
 */
public record BenchSettings(int warmup, int frames, int sweepWidth, int sweepHeight, int compareFrames, Order order, long seed,
                            List<Integer> rcfgSteps, int filterFrames, EnumSet<Experiment> experiments, boolean staticShapes,
                            List<RgbImage> input) {

    public BenchSettings {
        if (warmup < 0) throw new IllegalArgumentException("warm-up frames must be >= 0, found " + warmup);
        if (frames < 1 || compareFrames < 2 || filterFrames < 2) {
            throw new IllegalArgumentException("need at least 1 measured frame, 2 per compared configuration and 2 for the"
                    + " similarity filter, found frames " + frames + ", compare frames " + compareFrames + ", filter frames "
                    + filterFrames);
        }
        if (sweepWidth <= 0 || sweepWidth % 8 != 0 || sweepHeight <= 0 || sweepHeight % 8 != 0) {
            throw new IllegalArgumentException("the sweep size must be a multiple of 8, found " + sweepWidth + "x" + sweepHeight);
        }
        for (int n : rcfgSteps) {
            if (!Benchmark.T_INDEX_LISTS.containsKey(n)) {
                throw new IllegalArgumentException("RCFG steps must be among 1..5, found " + n);
            }
        }
        rcfgSteps = List.copyOf(rcfgSteps);
        experiments = EnumSet.copyOf(experiments);
        input = input == null ? null : List.copyOf(input);
    }
}
