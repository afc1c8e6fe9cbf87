package io.streamdiffusion4j.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fuzzes every target (see {@link FuzzTargets}): its seeds and saved regression inputs, then a
 * fixed number of mutated inputs from a fixed seed, so the test suite's run is deterministic and
 * takes seconds per target. A target passes when no input let an undocumented exception or
 * error escape (NullPointerException, IndexOutOfBounds, OutOfMemoryError, StackOverflowError,
 * a documented exception without a message ...), none ran past the time limit, none allocated
 * past the memory limit, and (forked targets) the child JVM did not die.
 *
 * <p>Long mode, one target at a time or all: {@code ./build -- -B -q test -Dtest=FuzzTargetsTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.seconds=600 [-Dfuzz.target=jpeg] [-Dfuzz.seed=N]}; see
 * {@link FuzzSettings} for the other knobs. Failing inputs are kept under target/fuzz/NAME/;
 * once a failure is fixed, its input goes to src/test/resources/fuzz/NAME/ and is replayed by
 * every later run.
 */
class FuzzTargetsTest {

    /** Every target, or those named by -Dfuzz.target (then the others are not run at all, not skipped). */
    static Stream<String> targets() {
        FuzzSettings settings = FuzzSettings.fromSystemProperties();
        return FuzzTargets.names().stream().filter(settings::selects);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void noInputCrashesHangsOrExhaustsMemory(String name) throws Exception {
        FuzzSettings settings = FuzzSettings.fromSystemProperties();
        FuzzTarget target = FuzzTargets.byName(name);
        FuzzReport report = target.forked()
                ? ForkedFuzz.run(target, settings)
                : new FuzzRunner(target, settings.out().resolve(name), input -> { }).run(settings.seed(), settings.budget(target));
        System.out.println(report.summary());
        java.nio.file.Files.createDirectories(settings.out().resolve(name));
        java.nio.file.Files.writeString(settings.out().resolve(name).resolve("report.txt"), report.summary() + "\n"
                + report.failures().stream().map(f -> "- " + f.kind() + " x" + f.count() + ": " + f.signature() + " (input "
                + f.saved() + ")\n").collect(Collectors.joining()));
        assertThat(report.failures())
                .withFailMessage(() -> report.summary() + "\n" + report.failures().stream()
                        .map(f -> "- " + f.kind() + " x" + f.count() + ": " + f.signature() + "\n  input: " + f.saved() + "\n  "
                                + f.detail().lines().limit(12).collect(Collectors.joining("\n  ")))
                        .collect(Collectors.joining("\n")))
                .isEmpty();
        assertThat(report.inputs()).isGreaterThan(report.replayed());
    }
}
