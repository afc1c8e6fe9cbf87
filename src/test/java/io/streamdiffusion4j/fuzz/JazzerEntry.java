package io.streamdiffusion4j.fuzz;

/**
 * The same targets for Jazzer's standalone driver (used to compare this harness with Jazzer's
 * coverage-guided fuzzing; Jazzer itself is not a dependency): {@code --target_class=io.streamdiffusion4j.fuzz.JazzerEntry
 * --jvm_args=-Dfuzz.target=NAME}. Documented exceptions are the target's normal answers; anything
 * else escapes and is a finding for Jazzer.
 */
public final class JazzerEntry {
    private static final FuzzTarget TARGET = FuzzTargets.byName(System.getProperty("fuzz.target"));

    private JazzerEntry() {}

    public static void fuzzerTestOneInput(byte[] data) throws Throwable {
        try {
            TARGET.check().run(data);
        } catch (Throwable t) {
            if (!TARGET.allows(t) || t.getMessage() == null) throw t;
        }
    }
}
