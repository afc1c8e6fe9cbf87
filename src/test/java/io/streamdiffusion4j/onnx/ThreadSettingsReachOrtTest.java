package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * {@code --threads} and {@code --spin} reach ONNX Runtime: the session options handed to it carry
 * the spinning setting, and the session really starts the asked number of pool threads. Native
 * threads inherit the name of the thread that creates them, so the session is opened on a thread
 * with a name of its own and its pool threads are counted by that name in /proc.
 */
@EnabledOnOs(OS.LINUX)
class ThreadSettingsReachOrtTest {
    private static final Path DECODER = Fixtures.taesd().resolve("vae_decoder/model.onnx");

    /** What ONNX Runtime was given for one session, and how many pool threads it started. */
    record Observed(Map<String, String> configEntries, int poolThreads) {}

    private static Observed open(ThreadSettings threads) throws Exception {
        // the process's environment exists first, with the default shared pools, so that these
        // (different) settings get a pool of their own that this test can see being made
        OrtRuntime.environment(ThreadSettings.defaults());
        assertThat(OrtRuntime.sharesPools(threads)).as("a setting the shared pool does not have").isFalse();
        OnnxModelLoader.Options options = OnnxModelLoader.Options.defaults().withThreads(threads);
        AtomicReference<Map<String, String>> given = new AtomicReference<>();
        ConfiguredSessions sessions = new ConfiguredSessions(options, new ExecutionProvider.Cpu(), (env, file, bytes, so) -> {
            given.set(new HashMap<>(so.getConfigEntries()));
            return ConfiguredSessions.Opener.DIRECT.open(env, file, bytes, so);
        });
        String name = "sd4j-probe-" + threads.intraOpThreads() + (threads.spinning() ? "s" : "n");
        AtomicReference<Object> result = new AtomicReference<>();
        Thread opener = Thread.ofPlatform().name(name).start(() -> {
            try (OnnxSession s = sessions.open(DECODER, Map.of())) {
                result.set(new Observed(given.get(), threadsNamed(name) - 1)); // less the opening thread itself
            } catch (Exception | AssertionError e) {
                result.set(e);
            }
        });
        opener.join();
        if (result.get() instanceof Exception e) throw e;
        if (result.get() instanceof AssertionError e) throw e;
        return (Observed) result.get();
    }

    /** Threads of this process whose name (as the kernel keeps it, at most 15 bytes) is {@code name}'s. */
    private static int threadsNamed(String name) throws IOException {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        int n = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    if (Files.readString(t.resolve("comm")).strip().equals(comm)) n++;
                } catch (IOException exited) {
                    // the thread ended between listing and reading
                }
            }
        }
        return n;
    }

    @Test
    void threadCountAndSpinningReachTheSession() throws Exception {
        // counts the shared pool (one per core) cannot have
        int cores = ThreadSettings.defaults().intraOpThreads();
        Observed quiet = open(new ThreadSettings(cores + 1, false));
        assertThat(quiet.configEntries()).containsEntry("session.intra_op.allow_spinning", "0");
        assertThat(quiet.poolThreads()).as("n intra-op threads: the caller and n - 1 pool threads").isEqualTo(cores);

        Observed spinning = open(new ThreadSettings(cores + 2, true));
        assertThat(spinning.configEntries()).containsEntry("session.intra_op.allow_spinning", "1");
        assertThat(spinning.poolThreads()).isEqualTo(cores + 1);
    }

    /** The sessions' threads end with them: nothing is left running after close. */
    @Test
    void poolThreadsEndWithTheSession() throws Exception {
        int threads = ThreadSettings.defaults().intraOpThreads() + 3;
        open(new ThreadSettings(threads, false));
        // the opening thread's own kernel task may still be exiting just after join() returned:
        // wait (bounded) for the count to settle instead of reading it once
        String name = "sd4j-probe-" + threads + "n";
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (threadsNamed(name) > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(threadsNamed(name)).isZero();
    }
}
