package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.image.RgbImage;
import java.util.EnumSet;
import java.util.List;

/**
 * How much to measure.
 *
 * @param warmup frames run before measuring each configuration
 * @param frames measured frames of the configured stream (and of the naive baseline)
 * @param sweepWidth image width of the many-configuration sweeps (stream batch, RCFG, similarity filter)
 * @param sweepHeight image height of the sweeps
 * @param sweepFrames measured frames per sweep configuration
 * @param filterFrames frames per input of the similarity-filter comparison
 * @param staticShapes also measure the configured stream on sessions loaded with its static shapes
 * @param input frames to stream (any size; resized like the original), or null for synthetic moving frames
 */
public record BenchSettings(int warmup, int frames, int sweepWidth, int sweepHeight, int sweepFrames, int filterFrames,
                            EnumSet<Experiment> experiments, boolean staticShapes, List<RgbImage> input) {

    public BenchSettings {
        if (warmup < 0) throw new IllegalArgumentException("warm-up frames must be >= 0, found " + warmup);
        if (frames < 1 || sweepFrames < 1 || filterFrames < 2) {
            throw new IllegalArgumentException("need at least 1 measured frame (2 for the similarity filter), found frames "
                    + frames + ", sweep frames " + sweepFrames + ", filter frames " + filterFrames);
        }
        if (sweepWidth <= 0 || sweepWidth % 8 != 0 || sweepHeight <= 0 || sweepHeight % 8 != 0) {
            throw new IllegalArgumentException("the sweep size must be a multiple of 8, found " + sweepWidth + "x" + sweepHeight);
        }
        experiments = EnumSet.copyOf(experiments);
        input = input == null ? null : List.copyOf(input);
    }
}
