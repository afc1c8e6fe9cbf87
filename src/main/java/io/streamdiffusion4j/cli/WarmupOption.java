package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.Warmup;
import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** {@code --warmup}: warm the models up at load (on by default), and say how long it took. */
final class WarmupOption {
    @Option(names = "--warmup", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = {"Run each model on inputs of the stream's shapes at load, so the first frame runs at steady",
                    "speed (default ${DEFAULT-VALUE}; false starts sooner and leaves the first frames slow). Outputs are the",
                    "same either way."})
    boolean enabled = true;

    /** A warm-up for the stream's models, or one that does nothing when turned off. */
    Warmup warmup(StreamDiffusion stream) {
        return new Warmup(stream.models(), enabled ? Warmup.RUNS : 0);
    }

    /** Warms {@code stream}'s models for {@code shape} and reports it on {@code err} under {@code command}'s name. */
    void warm(String command, StreamDiffusion stream, Warmup.Shape shape, PrintWriter err) {
        report(command, shape, warmup(stream).ensure(stream, shape), err);
    }

    /** Warms {@code stream}'s models for its own shapes. */
    void warm(String command, StreamDiffusion stream, PrintWriter err) {
        warm(command, stream, Warmup.Shape.of(stream), err);
    }

    static void report(String command, Warmup.Shape shape, Warmup.Report r, PrintWriter err) {
        if (!r.ran()) return;
        err.printf("%s: warmed up the models for %dx%d, UNet batch %d (%d model calls) in %.2f s; not counted in frames/s%n",
                command, shape.width(), shape.height(), shape.unetRows(), r.calls(), r.seconds());
        err.flush();
    }
}
