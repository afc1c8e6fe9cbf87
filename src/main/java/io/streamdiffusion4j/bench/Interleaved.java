package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Runs several arms frame by frame in one process: round after round, every arm runs one frame
 * on the same input, in the round's {@link Order}. Warm-up rounds run the same way and are
 * dropped. Frame {@code i} of every arm comes from round {@code i}, so arms can be compared round
 * by round (paired), which cancels load changes slower than a round.
 */
final class Interleaved {
    private Interleaved() {}

    /** @return per arm, its measured frames in round order */
    static List<List<ArmFrame>> run(List<? extends Arm> arms, List<RgbImage> input, int warmupRounds, int rounds, Order order,
                                    long seed) {
        if (arms.isEmpty() || input.isEmpty()) throw new IllegalArgumentException("need at least one arm and one input frame");
        if (warmupRounds < 0 || rounds < 1) {
            throw new IllegalArgumentException("need >= 0 warm-up rounds and >= 1 measured round, found " + warmupRounds + " and " + rounds);
        }
        Random random = new Random(seed);
        List<List<ArmFrame>> measured = new ArrayList<>();
        for (int a = 0; a < arms.size(); a++) measured.add(new ArrayList<>(rounds));
        for (int r = 0; r < warmupRounds + rounds; r++) {
            RgbImage frame = input.get(r % input.size());
            for (int a : order.round(r, arms.size(), random)) {
                ArmFrame f = arms.get(a).run(frame);
                if (r >= warmupRounds) measured.get(a).add(f);
            }
        }
        return measured;
    }
}
