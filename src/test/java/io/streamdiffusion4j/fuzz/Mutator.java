package io.streamdiffusion4j.fuzz;

import java.util.List;
import java.util.SplittableRandom;

/** Makes a new input from one corpus entry (and, for splices, others); deterministic for a given random state. */
@FunctionalInterface
public interface Mutator {
    byte[] mutate(byte[] base, List<byte[]> corpus, SplittableRandom random);
}
