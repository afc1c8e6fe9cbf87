package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.Warmup;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code txt2img}: images from the prompt alone, one stream step per call. */
@Command(name = "txt2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generates images from the prompt. Each of the N calls gives frame_buffer_size images",
                "(txt2img_method \"txt2img\") or one per batch row (\"sd_turbo\"); written as NNN.png."})
final class Txt2ImgCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions options;

    @Mixin
    WarmupOption warmup;

    @Option(names = "--frames", paramLabel = "N", description = "Number of txt2img calls (overrides num_outputs).")
    Integer frames;

    @Option(names = "--txt2img-method", paramLabel = "txt2img|sd_turbo", description = "Overrides txt2img_method.")
    String method;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder.")
    Path output;

    @Option(names = "--save-npy", description = "Also write NNN.npy (float32, HWC, RGB in [0, 1]).")
    boolean saveNpy;

    @Override
    public Integer call() throws IOException, ConfigException {
        if (frames != null && frames < 1) throw new ConfigException("--frames must be at least 1, found " + frames);
        options.extra.clear();
        if (frames != null) options.extra.put("num_outputs", frames);
        if (method != null) options.extra.put("txt2img_method", method);
        RunConfig rc = options.resolve(Mode.TXT2IMG.key());
        options.warnings.forEach(w -> spec.commandLine().getErr().println("warning: " + w));
        FrameWriter writer = new FrameWriter(output, saveNpy);
        try (StreamDiffusion stream = Cli.builder(rc, options).mode(Mode.TXT2IMG).build()) {
            stream.prepare(rc.promptBlend(), rc.negativePrompt(), rc.numInferenceSteps(), rc.guidanceScale(), rc.delta());
            boolean sdTurbo = rc.txt2imgMethod() == RunConfig.Txt2ImgMethod.SD_TURBO;
            Warmup.Shape shape = Warmup.Shape.of(stream);
            // the sd_turbo path decodes every batch row, the stream path frame_buffer_size of them
            warmup.warm("txt2img", stream, sdTurbo ? shape.withDecodeRows(stream.config().batchSize()) : shape,
                    spec.commandLine().getErr());
            long start = System.nanoTime();
            for (int i = 0; i < rc.numOutputs(); i++) {
                FloatTensor out = sdTurbo
                        ? stream.txt2imgSdTurbo() : stream.txt2img();
                writer.writeAll(out);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            spec.commandLine().getErr().printf("txt2img: %d calls, %d images -> %s in %.2f s (%.2f calls/s)%n", rc.numOutputs(),
                    writer.written(), output, seconds, rc.numOutputs() / seconds);
        }
        return 0;
    }
}
