package io.streamdiffusion4j.cli;

import java.util.ArrayList;
import java.util.List;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM as a request to stop cleanly, handled before the JVM starts
 * shutting down. A shutdown hook is too late for streams: ONNX Runtime's own hook releases its
 * environment (and the thread pools a running session uses) at the same time, and a model call
 * in flight then crashes the process. Here the first signal asks the running command to finish
 * (the model finishes its frame, the video file gets its trailer, sessions are closed) and the
 * process exits normally; a second signal exits at once. Uses {@code sun.misc.Signal}, the
 * JDK's supported-but-unofficial signal API (module jdk.unsupported), as there is no other.
 */
final class StopSignals implements AutoCloseable {
    private final List<Signal> signals = new ArrayList<>();
    private final List<SignalHandler> previous = new ArrayList<>();
    private volatile boolean requested;

    private StopSignals() {}

    /**
     * Until a command installs its own handler (while models load, while img2img or convert run):
     * SIGINT and SIGTERM end the process at once with 128 + the signal's number, without running
     * shutdown hooks. The JVM's default runs ONNX Runtime's hook, which releases its environment
     * under a session being created or run, and the process then dies of SIGSEGV with a crash
     * report instead of stopping. Nothing half-written is left under a final name: outputs are
     * written to a temporary name and renamed (files.AtomicFiles). Called by the command line's
     * main only, never by a library or a test that runs commands in its own JVM.
     */
    static void haltOnSignalByDefault() {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal signal = new Signal(name);
                int exitCode = 128 + signal.getNumber();
                Signal.handle(signal, sig -> {
                    System.err.println("\nstopped (SIG" + name + ")");
                    Runtime.getRuntime().halt(exitCode);
                });
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // a platform without this signal (SIGTERM on Windows)
            }
        }
    }

    /** Routes SIGINT and SIGTERM to {@code onStop} (run once, on its own thread) until closed. */
    static StopSignals install(Runnable onStop) {
        StopSignals s = new StopSignals();
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal signal = new Signal(name);
                SignalHandler old = Signal.handle(signal, sig -> s.handle(onStop));
                s.signals.add(signal);
                s.previous.add(old);
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // a platform without this signal (SIGTERM on Windows): Ctrl-C still works there
            }
        }
        return s;
    }

    private synchronized void handle(Runnable onStop) {
        if (requested) {
            System.err.println("\nstopping now");
            Runtime.getRuntime().halt(130);
        }
        requested = true;
        System.err.println("\nstopping: finishing the current frame and the output (press Ctrl-C again to quit at once)");
        Thread.ofPlatform().name("sd4j-stop").start(onStop);
    }

    boolean requested() {
        return requested;
    }

    @Override
    public void close() {
        for (int i = 0; i < signals.size(); i++) Signal.handle(signals.get(i), previous.get(i));
    }
}
