package io.streamdiffusion4j.fuzz;

import java.util.List;

/**
 * What one fuzzing run saw.
 *
 * @param replayed   seeds and saved regression inputs run unchanged before mutation starts
 * @param inputs     all inputs run (replayed ones included)
 * @param refused    inputs answered with a documented exception carrying a message
 * @param corpus     inputs kept for further mutation (seeds plus inputs with a new outcome)
 * @param maxAllocatedBytes the most heap one input allocated
 * @param maxMillis  the longest one input took
 */
public record FuzzReport(String target, long seed, long replayed, long inputs, long refused, int corpus,
                         long maxAllocatedBytes, long maxMillis, double seconds, List<Failure> failures) {

    /** A distinct failure (first input that showed it, saved under {@code saved}) and how often it recurred. */
    public record Failure(String kind, String signature, String detail, String saved, long count) {}

    public String summary() {
        return String.format("fuzz %s: %d inputs (%d replayed), %d refused with documented errors, %d accepted, "
                        + "%d distinct failures (%d crashes/errors, %d hangs), max %.1f MB allocated and %d ms per input, "
                        + "%.1f s, seed %d, corpus %d",
                target, inputs, replayed, refused, inputs - refused - failures.stream().mapToLong(Failure::count).sum(),
                failures.size(), failures.stream().filter(f -> !f.kind().equals("hang")).mapToLong(Failure::count).sum(),
                failures.stream().filter(f -> f.kind().equals("hang")).mapToLong(Failure::count).sum(),
                maxAllocatedBytes / 1e6, maxMillis, seconds, seed, corpus);
    }
}
