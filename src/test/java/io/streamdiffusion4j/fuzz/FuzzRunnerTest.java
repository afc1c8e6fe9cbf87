package io.streamdiffusion4j.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness itself: each kind of failure is caught, counted once per kind and place, and its input kept. */
class FuzzRunnerTest {
    @TempDir
    Path dir;

    /** Keeps allocations alive, so the JIT cannot remove them. */
    private static volatile Object sink;

    private FuzzReport run(FuzzTarget.Check check, long timeoutMillis) throws IOException {
        AtomicInteger next = new AtomicInteger(1);
        Mutator counting = (base, corpus, r) -> new byte[] {(byte) next.getAndIncrement()}; // 1, 2, 3 ...: every kind below
        FuzzTarget t = new FuzzTarget("self-test", () -> List.of(new byte[] {0}), counting, check, Set.of(IOException.class), false, 400);
        return new FuzzRunner(t, dir, input -> { }).run(1, new FuzzRunner.Budget(200, 0, timeoutMillis, 50_000_000L));
    }

    @Test
    void undocumentedExceptionsHangsMemoryAndMessagelessErrorsAreFailures() throws IOException {
        FuzzReport r = run(input -> {
            switch (input[0] & 0xff) {
                case 1 -> throw new NullPointerException();
                case 2 -> throw new IOException();
                case 3 -> Thread.sleep(60_000);
                case 4 -> {
                    byte[][] hog = new byte[80][];
                    for (int i = 0; i < hog.length; i++) hog[i] = new byte[1_000_000];
                    sink = hog;
                }
                case 5 -> throw new StackOverflowError();
                default -> {
                    if ((input[0] & 1) == 0) throw new IOException("refused: even byte");
                }
            }
        }, 3000);
        assertThat(r.failures()).as(r.summary()).extracting(FuzzReport.Failure::kind)
                .containsExactlyInAnyOrder("exception", "no-message", "hang", "memory", "error");
        assertThat(r.inputs()).isEqualTo(201);
        assertThat(r.refused()).isPositive();
        for (FuzzReport.Failure f : r.failures()) assertThat(Files.readAllBytes(Path.of(f.saved()))).hasSize(1);
    }

    @Test
    void aNativeCrashInTheChildJvmIsReportedWithItsInput() throws Exception {
        FuzzSettings settings = new FuzzSettings(0, 20, 1, "", 10_000, 256_000_000L, dir);
        FuzzReport r = ForkedFuzz.run(FuzzTargets.byName("native-crash"), settings);
        assertThat(r.failures()).hasSize(1);
        FuzzReport.Failure crash = r.failures().getFirst();
        assertThat(crash.kind()).isEqualTo("crash");
        assertThat(crash.detail()).contains("the child JVM").contains("without a report").contains("SIGSEGV")
                .contains("Problematic frame").contains("7 bytes");
        assertThat(Files.readString(Path.of(crash.saved()))).isEqualTo("X crash");
    }
}
