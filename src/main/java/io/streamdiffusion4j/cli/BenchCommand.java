package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.bench.BenchReport;
import io.streamdiffusion4j.bench.BenchSettings;
import io.streamdiffusion4j.bench.Benchmark;
import io.streamdiffusion4j.bench.Experiment;
import io.streamdiffusion4j.bench.MachineFacts;
import io.streamdiffusion4j.bench.Order;
import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.LoraMerge;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.Quantization;
import io.streamdiffusion4j.hub.ConsoleDownloadProgress;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtRuntime;
import io.streamdiffusion4j.pipeline.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bench}: the paper's measurements on this project, as JSON and Markdown. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measures the img2img stream (frames/s, latency percentiles, per-stage times, UNet rows,",
                "allocation, peak RSS, overhead over the raw model calls) and the paper's comparisons: Stream Batch",
                "vs the sequential loop, RCFG modes, static vs dynamic shapes (each alternated frame by frame with a",
                "control, the baseline against itself, that shows the noise floor), the similarity filter, the naive",
                "per-frame baseline. Prints Markdown; --out DIR also writes bench.json and bench.md."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions options;


    @Option(names = "--size", paramLabel = "WxH", description = "Image size of the configured stream (overrides width and height).")
    String size;

    @Option(names = "--frames", defaultValue = "8", description = "Measured frames (default ${DEFAULT-VALUE}).")
    int frames;

    @Option(names = "--warmup", defaultValue = "2", description = "Warm-up frames before measuring (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--input", paramLabel = "DIR_OR_FILE", description = "Frames to stream (default: synthetic moving frames).")
    Path input;

    @Option(names = "--sweep-size", paramLabel = "WxH", description = "Image size of the stream-batch, RCFG and filter comparisons (default: --size).")
    String sweepSize;

    @Option(names = "--compare-frames", defaultValue = "20", paramLabel = "N",
            description = "Measured frames per configuration in the alternated comparisons (default ${DEFAULT-VALUE};"
                    + " fewer than 20 give figures but no verdicts).")
    int compareFrames;

    @Option(names = "--order", defaultValue = "abba", paramLabel = "alternate|abba|random",
            description = "Order of the configurations within each round of a comparison (default ${DEFAULT-VALUE}).")
    String order;

    @Option(names = "--order-seed", defaultValue = "1", paramLabel = "N", description = "Seed of the random order (default ${DEFAULT-VALUE}).")
    long orderSeed;

    @Option(names = "--rcfg-steps", defaultValue = "1,2,3,4,5", split = ",", paramLabel = "LIST",
            description = "Numbers of denoising steps for the RCFG comparison, among 1..5 (default ${DEFAULT-VALUE}).")
    List<Integer> rcfgSteps;

    @Option(names = "--filter-frames", defaultValue = "16", description = "Frames per input of the similarity-filter comparison (default ${DEFAULT-VALUE}).")
    int filterFrames;

    @Option(names = "--experiments", defaultValue = "all", paramLabel = "LIST",
            description = "all, or some of pipeline,static-shapes,stream-batch,rcfg,ssf,naive,precompute,int8,sessions,controlnet,ip-adapter"
                    + " (default ${DEFAULT-VALUE}).")
    String experiments;

    @Option(names = "--compare-static-shapes", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = "Also load sessions with the configured stream's static shapes: the pipeline runs on them and"
                    + " static-shapes compares them with dynamic ones (default ${DEFAULT-VALUE}).")
    boolean staticShapes;

    @Option(names = "--gather-window-ms", paramLabel = "MS", defaultValue = "50",
            description = "Gather window of the batched arms of the sessions experiment (default ${DEFAULT-VALUE}).")
    double gatherWindowMs;

    @Option(names = "--out", paramLabel = "DIR", description = "Write bench.json and bench.md there.")
    Path out;

    @Override
    public Integer call() throws IOException, ConfigException {
        if (size != null) {
            int[] wh = parseSize(size, "--size");
            options.width = wh[0];
            options.height = wh[1];
        }
        RunConfig rc = options.resolve(Mode.IMG2IMG.key());
        options.warnings.forEach(w -> spec.commandLine().getErr().println("warning: " + w));
        int[] sweep = sweepSize != null ? parseSize(sweepSize, "--sweep-size") : new int[] {rc.width(), rc.height()};
        List<RgbImage> frames = null;
        if (input != null) {
            frames = new ArrayList<>();
            for (Path p : ImageFiles.list(input)) frames.add(ImageFiles.read(p));
        }
        BenchSettings settings;
        try {
            var chosen = Experiment.parseList(experiments);
            // the ControlNet comparison needs a ControlNet: "all" leaves it out without one, naming it asks for one
            if (rc.controlNets().isEmpty() && experiments.trim().equalsIgnoreCase("all")) chosen.remove(Experiment.CONTROLNET);
            if (chosen.contains(Experiment.CONTROLNET) && rc.controlNets().size() != 1) {
                throw new ConfigException("bench --experiments controlnet measures one ControlNet: give exactly one --controlnet"
                        + " (found " + rc.controlNets().size() + ")");
            }
            settings = new BenchSettings(warmup, this.frames, sweep[0], sweep[1], compareFrames, Order.parse(order), orderSeed,
                    rcfgSteps, filterFrames, chosen, staticShapes, frames);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        ModelStore.Resolved models = Cli.resolveModels(rc, options);
        var err = spec.commandLine().getErr();
        if (options.staticShapes) {
            throw new ConfigException("bench loads the configured stream both ways itself: use --compare-static-shapes"
                    + " true|false instead of --static-shapes");
        }
        OnnxModelLoader.Options loader = Cli.loaderOptions(rc, options);
        OrtRuntime.environment(loader.threads()); // before anything else touches ONNX Runtime, so the pools are shared

        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("command", "streamdiffusion4j " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
        facts.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        facts.putAll(MachineFacts.collect());
        facts.put("model", models.model() + (rc.useTinyVae() ? " + TAESD " + models.taesd() : " (its own AutoencoderKL)"));
        facts.put("size", rc.width() + "x" + rc.height() + " (sweeps " + sweep[0] + "x" + sweep[1] + ")");
        facts.put("device", options.runtime.device);

        if (!(gatherWindowMs >= 0 && gatherWindowMs <= 1000)) {
            throw new ConfigException("--gather-window-ms must be in [0, 1000], found " + gatherWindowMs);
        }
        Benchmark bench = new Benchmark(rc, models.model(), models.taesd(), loader, settings, m -> err.println("bench: " + m))
                .withGatherWindow(java.time.Duration.ofNanos(Math.round(gatherWindowMs * 1e6)));
        if (settings.experiments().contains(Experiment.INT8)) {
            if (options.quantize.resolve(options.fp16, options.runtime.device) != Quantization.NONE) {
                throw new ConfigException("bench --experiments int8 compares the int8 copy with float32 itself: drop --quantize");
            }
            try (Progress p = new Progress("quantize", System.err)) {
                ModelStore store = ModelStore.defaultStore();
                bench.withInt8Model(store.quantized(models.model(), p),
                        rc.useTinyVae() && models.taesd() != null ? store.quantizedTaesd(models.taesd(), p) : null);
            }
        }
        if (settings.experiments().contains(Experiment.CONTROLNET)) {
            bench.withControlNet(ControlNetModels.controlNetFile(rc.controlNets().getFirst().source(), options.fp16),
                    ControlNetModels.unetWithControl(models.model()),
                    ControlNetModels.preprocessor(rc.controlPreprocessor(), rc.controlDepthModel(), loader));
        }
        IpAdapterOptions.Prepared ip = IpAdapterOptions.prepare(rc, models.model(), ImageSizeLimit.FILES);
        if (ip != null) {
            if (ip.style() == null) throw new ConfigException("bench --ip-adapter needs --style-image (the style the adapter's arm uses)");
            Path rebuilt = null;
            if (settings.experiments().contains(Experiment.IP_ADAPTER)) {
                // the adapter arm's baseline: the plain UNet built again the way the adapter's UNet was
                try (Progress p = new Progress("rebuild the plain UNet", System.err)) {
                    rebuilt = io.streamdiffusion4j.convert.IpAdapterStore.rebuiltPlainUnet(ModelStore.defaultStore().root(), models.model(), p);
                }
            }
            bench.withIpAdapter(ip.variant(), ip.scale(), ip.style(), rebuilt);
            facts.put("ip-adapter", rc.ipAdapter().adapter() + " at " + rc.ipAdapter().scale() + " with style image "
                    + rc.ipAdapter().styleImage());
        } else if (experiments.trim().toLowerCase(java.util.Locale.ROOT).contains("ip-adapter")) {
            throw new ConfigException("bench --experiments ip-adapter needs --ip-adapter DIR[:SCALE] and --style-image FILE");
        }
        BenchReport report = bench.run(facts);
        spec.commandLine().getOut().print(report.markdown());
        spec.commandLine().getOut().flush();
        if (out != null) {
            Files.createDirectories(out);
            Files.writeString(out.resolve("bench.json"), report.json());
            Files.writeString(out.resolve("bench.md"), report.markdown());
            err.println("bench: wrote " + out.resolve("bench.json") + " and " + out.resolve("bench.md"));
        }
        return 0;
    }

    private static int[] parseSize(String value, String option) throws ConfigException {
        String[] parts = value.toLowerCase(java.util.Locale.ROOT).split("x");
        try {
            if (parts.length == 2) return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ConfigException(option + " must be WIDTHxHEIGHT (for example 256x256), found '" + value + "'");
    }
}
