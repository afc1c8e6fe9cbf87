package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.engine.ControlCommand;
import io.streamdiffusion4j.engine.FrameSink;
import io.streamdiffusion4j.engine.FrameSource;
import io.streamdiffusion4j.engine.Sinks;
import io.streamdiffusion4j.engine.Sources;
import io.streamdiffusion4j.engine.StreamEngine;
import io.streamdiffusion4j.engine.Telemetry;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code run}: the real-time engine, from a source to a sink, with live control on standard input. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Streams frames from a source through the model to a sink, in real time.",
                "Sources: folder:DIR, image:FILE, video:FILE, screen[:X,Y,W,H], stdin:WxH (raw RGB24).",
                "Sinks:   folder:DIR[:jpg], video:FILE.mp4, window, stdout (raw RGB24), null.",
                "While it runs, type commands on standard input (one per line), e.g. 'prompt a cat in the snow',",
                "'guidance 1.4', 't_index 22,32,45', 'seed 7', 'filter on 0.95', 'prompt_blend a cat:0.7 | a dog:0.3',",
                "'seed_blend 2:0.5, 7:0.5', 'interpolation slerp', 'transition 30', 'status', 'quit'. Ctrl-C stops",
                "cleanly (the output video is finished)."})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions options;

    @Mixin
    WarmupOption warmup;

    @Mixin
    InputImageOptions inputImages;

    @Option(names = "--source", required = true, paramLabel = "SPEC", description = "where frames come from")
    String source;

    @Option(names = "--sink", required = true, paramLabel = "SPEC", description = "where results go")
    String sink;

    @Option(names = "--fps", paramLabel = "N", description = "pace of live sources and the output video's rate"
            + " (default: the source video's rate, else 30)")
    Double fps;

    @Option(names = "--max-frames", paramLabel = "N", description = "stop after writing N frames")
    Long maxFrames;

    @Option(names = "--warm-start", description = "fill the latent buffer from the first frame (no brown first frames)")
    boolean warmStart;

    @Option(names = "--input-policy", paramLabel = "latest|all",
            description = "when the model is busy: keep only the newest frames (default for live sources) or all (files)")
    StreamEngine.InputPolicy inputPolicy;

    @Option(names = "--output-policy", paramLabel = "drop|block",
            description = "when the sink is slow: drop outputs (default for previews) or wait (files, pipes)")
    StreamEngine.OutputPolicy outputPolicy;

    @Option(names = "--no-control", description = "do not read live commands from standard input")
    boolean noControl;

    @Override
    public Integer call() throws Exception {
        RunConfig rc = options.resolve(Mode.IMG2IMG.key());
        PrintWriter err = spec.commandLine().getErr();
        options.warnings.forEach(w -> err.println("warning: " + w));
        FrameSource src = Sources.open(source, fps == null ? 0 : fps, inputImages.limit());
        FrameSink out;
        try {
            double rate = fps != null ? fps : (src.frameRate() > 0 ? src.frameRate() : 30);
            out = Sinks.open(sink, rate);
        } catch (Exception e) {
            src.close();
            throw e;
        }
        try (StreamDiffusion stream = Cli.builder(rc, options).mode(Mode.IMG2IMG).warmStart(warmStart).build()) {
            stream.prepare(rc.promptBlend(), rc.negativePrompt(), rc.numInferenceSteps(), rc.guidanceScale(), rc.delta());
            warmup.warm("run", stream, err);
            StreamEngine engine = new StreamEngine(stream, src, out,
                    new StreamEngine.Options(inputPolicy, outputPolicy, 4));
            err.println("run: " + src.describe() + " -> " + out.describe() + " (input " + engine.inputPolicy().name().toLowerCase()
                    + ", output " + engine.outputPolicy().name().toLowerCase() + ")");
            engine.start();
            try (StopSignals signals = StopSignals.install(() -> {
                try {
                    engine.stop();
                } catch (Exception e) {
                    err.println("error while stopping: " + Errors.describe(e));
                }
            })) {
                boolean controls = !noControl && !source.startsWith("stdin");
                if (controls) startControlThread(engine, err, options.staticShapes, rc.numInferenceSteps(), rc.controlNets().size(),
                        rc.ipAdapter() != null);
                watch(engine, src, err);
            }
            engine.awaitEnd();
            Telemetry t = engine.telemetry();
            err.println("run: done. " + t.summaryLine());
        }
        return 0;
    }

    /** Shows progress (known length) or a status line until the stream ends or reaches --max-frames. */
    private void watch(StreamEngine engine, FrameSource src, PrintWriter err) throws Exception {
        ProgressBar bar = src.length().isPresent()
                ? new ProgressBarBuilder().setTaskName("run").setInitialMax(src.length().getAsLong())
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500)
                        .setConsumer(new ConsoleProgressBarConsumer(System.err)).build()
                : null;
        try {
            long lastStatus = 0;
            while (!engine.awaitEnd(250)) {
                Telemetry t = engine.telemetry();
                if (maxFrames != null && t.framesOut() >= maxFrames) {
                    engine.stop();
                    break;
                }
                if (bar != null) {
                    bar.stepTo(t.framesProcessed() + t.droppedInput());
                    bar.setExtraMessage(" " + t.statusLine());
                } else if (System.nanoTime() - lastStatus > 1_000_000_000L) {
                    err.print("\r" + t.statusLine() + "   ");
                    err.flush();
                    lastStatus = System.nanoTime();
                }
            }
            if (bar != null) bar.stepTo(engine.telemetry().framesProcessed() + engine.telemetry().droppedInput());
        } finally {
            if (bar != null) bar.close();
            else err.println();
        }
    }

    private static void startControlThread(StreamEngine engine, PrintWriter err, boolean staticShapes, int numInferenceSteps,
                                           int controlNets, boolean ipAdapter) {
        Thread.ofPlatform().daemon().name("sd4j-control").start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.isBlank()) continue;
                    try {
                        ControlCommand c = ControlCommand.parse(line, numInferenceSteps, controlNets, ipAdapter);
                        String verb = line.strip().split("\\s+")[0].toLowerCase(java.util.Locale.ROOT);
                        if (staticShapes && (verb.startsWith("t_index") || verb.startsWith("guidance") || verb.equals("delta"))) {
                            err.println("\n" + verb + " can change the UNet batch, which --static-shapes fixed: restart without"
                                    + " --static-shapes to change it live");
                            continue;
                        }
                        switch (c.kind()) {
                            case CHANGE -> {
                                engine.control(c.change());
                                err.println("\n> " + c.description() + " (from the next frame)");
                            }
                            case STATUS -> err.println("\n" + engine.telemetry().statusLine());
                            case HELP -> err.println("\n" + c.description());
                            case QUIT -> {
                                engine.stop();
                                return;
                            }
                        }
                    } catch (IllegalArgumentException e) {
                        // refused before it reached the stream: nothing changed, the run goes on
                        err.println("\nrefused: " + e.getMessage() + " (nothing changed)");
                    }
                    err.flush();
                }
            } catch (Exception e) {
                err.println("\ncontrol input closed: " + Errors.describe(e));
            }
        });
    }
}
