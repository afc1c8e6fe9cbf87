package io.streamdiffusion4j.fuzz;

import java.nio.file.Path;

/**
 * The knobs of a fuzzing run, from system properties (Maven passes -D options through to the
 * tests, see the surefire configuration):
 * <pre>
 *   fuzz.seconds=600      long mode: each target runs this long instead of its short bounded run
 *   fuzz.inputs=N         the bounded run's mutated inputs per target (default: the target's own number)
 *   fuzz.seed=N           the random seed (default 1; each target mixes in its name)
 *   fuzz.target=a,b       only these targets
 *   fuzz.timeoutMs=10000  one input running longer is a hang
 *   fuzz.maxAllocMb=256   one input allocating more heap is a failure
 *   fuzz.out=target/fuzz  where failing inputs and the child JVMs' logs go
 * </pre>
 */
public record FuzzSettings(double seconds, long inputs, long seed, String only, long timeoutMillis, long maxAllocatedBytes,
                           Path out) {

    public static FuzzSettings fromSystemProperties() {
        return new FuzzSettings(
                Double.parseDouble(System.getProperty("fuzz.seconds", "0")),
                Long.parseLong(System.getProperty("fuzz.inputs", "-1")),
                Long.parseLong(System.getProperty("fuzz.seed", "1")),
                System.getProperty("fuzz.target", ""),
                Long.parseLong(System.getProperty("fuzz.timeoutMs", "10000")),
                Long.parseLong(System.getProperty("fuzz.maxAllocMb", "256")) * 1_000_000L,
                Path.of(System.getProperty("fuzz.out", "target/fuzz")));
    }

    public boolean selects(String target) {
        if (only.isBlank()) return true;
        for (String s : only.split(",")) if (s.strip().equals(target)) return true;
        return false;
    }

    public FuzzRunner.Budget budget(FuzzTarget t) {
        return new FuzzRunner.Budget(inputs >= 0 ? inputs : t.ciInputs(), seconds, timeoutMillis, maxAllocatedBytes);
    }

    /** The same settings as JVM options, for a child JVM. */
    public String[] asJvmOptions() {
        return new String[] {"-Dfuzz.seconds=" + seconds, "-Dfuzz.inputs=" + inputs, "-Dfuzz.seed=" + seed,
                "-Dfuzz.timeoutMs=" + timeoutMillis, "-Dfuzz.maxAllocMb=" + maxAllocatedBytes / 1_000_000L,
                "-Dfuzz.out=" + out.toAbsolutePath()};
    }
}
