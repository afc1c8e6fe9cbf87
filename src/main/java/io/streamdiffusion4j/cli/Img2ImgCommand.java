package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.random.ReplayedUniforms;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code img2img}: restyles a folder of frames (or one image) as a stream, one output per input frame. */
@Command(name = "img2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Streams the frames of a folder (in name order) or one image through the pipeline.",
                "Writes NNN.png per input frame (and NNN.npy with --save-npy)."})
final class Img2ImgCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions options;

    @Mixin
    WarmupOption warmup;

    @Mixin
    InputImageOptions inputImages;

    @Option(names = "--input", required = true, paramLabel = "DIR_OR_FILE", description = "Folder of frames or one image.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder.")
    Path output;

    @Option(names = "--save-npy", description = "Also write NNN.npy (float32, HWC, RGB in [0, 1]).")
    boolean saveNpy;

    @Option(names = "--ssf-draws", paramLabel = "FILE",
            description = "Replay recorded similarity-filter draws (one number per line) instead of the seeded ones.")
    Path ssfDraws;

    @Override
    public Integer call() throws IOException, ConfigException {
        RunConfig rc = options.resolve(Mode.IMG2IMG.key());
        options.warnings.forEach(w -> spec.commandLine().getErr().println("warning: " + w));
        List<Path> files = ImageFiles.list(input);
        int f = rc.frameBufferSize();
        if (files.size() % f != 0) {
            throw new ConfigException(input + " holds " + files.size() + " frame(s), not a multiple of frame_buffer_size " + f);
        }
        // Read every frame before loading models: a bad input fails fast and loses nothing.
        List<RgbImage> frames = new ArrayList<>();
        ImageSizeLimit limit = inputImages.limit();
        for (Path p : files) frames.add(ImageFiles.read(p, limit));
        StreamDiffusion.Builder b = Cli.builder(rc, options).mode(Mode.IMG2IMG);
        if (ssfDraws != null) b.similarityDraws(ReplayedUniforms.fromFile(ssfDraws));
        FrameWriter writer = new FrameWriter(output, saveNpy);
        try (StreamDiffusion stream = b.build()) {
            stream.prepare(rc.promptBlend(), rc.negativePrompt(), rc.numInferenceSteps(), rc.guidanceScale(), rc.delta());
            warmup.warm("img2img", stream, spec.commandLine().getErr());
            long start = System.nanoTime();
            int skipped = 0;
            for (int i = 0; i < frames.size(); i += f) {
                FloatTensor in = stream.preprocessor().toTensor(frames.subList(i, i + f));
                FloatTensor out = stream.img2img(in);
                if (stream.lastFrameSkipped()) skipped += f;
                writer.writeAll(out);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            spec.commandLine().getErr().printf("img2img: %d frames -> %s in %.2f s (%.2f frames/s)%s%n", frames.size(), output, seconds,
                    frames.size() / seconds, skipped > 0 ? ", " + skipped + " skipped by the similarity filter" : "");
        }
        return 0;
    }
}
