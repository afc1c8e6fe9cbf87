package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.engine.ProcessMemory;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.model.Vae;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtControlNet;
import io.streamdiffusion4j.onnx.OrtModelCalls;
import io.streamdiffusion4j.onnx.OrtRuntime;
import io.streamdiffusion4j.onnx.OrtTextEncoder;
import io.streamdiffusion4j.onnx.OrtUnet;
import io.streamdiffusion4j.onnx.OrtVaeDecoder;
import io.streamdiffusion4j.onnx.OrtVaeEncoder;
import io.streamdiffusion4j.onnx.StaticShapes;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.Guidance;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamBatch;
import io.streamdiffusion4j.pipeline.StreamConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs the paper's experiments on one model and size, in one process, so that every ratio
 * compares runs on the same machine at the same time. The comparisons share one set of
 * sessions with dynamic shapes (one UNet in memory whatever the batch); the configured stream
 * is also measured on sessions with static shapes when those are asked for.
 */
public final class Benchmark {
    /** t_index_list per number of steps for the sweeps (speed does not depend on which timesteps). */
    static final Map<Integer, int[]> T_INDEX_LISTS = Map.of(
            1, new int[] {32}, 2, new int[] {32, 45}, 3, new int[] {16, 32, 45}, 4, new int[] {0, 16, 32, 45},
            5, new int[] {0, 12, 24, 36, 45});

    private final RunConfig run;
    private final Path modelDir;
    private final Path taesdDir;
    /** The gather window of the sessions experiment's batched arms. */
    public static final Duration DEFAULT_GATHER_WINDOW = Duration.ofMillis(50);
    private Duration gatherWindow = DEFAULT_GATHER_WINDOW;
    private Path int8ModelDir;
    private Path int8TaesdDir;
    private Path controlNetFile;
    private Path unetWithControl;
    private ControlPreprocessor controlPreprocessor;
    private final OnnxModelLoader.Options options;
    private final BenchSettings settings;
    private final Consumer<String> progress;

    /** @param options how to load (their static shapes are set here, per experiment) */
    public Benchmark(RunConfig run, Path modelDir, Path taesdDir, OnnxModelLoader.Options options, BenchSettings settings,
                     Consumer<String> progress) {
        this.run = run;
        this.modelDir = modelDir;
        this.taesdDir = taesdDir;
        this.options = options;
        this.settings = settings;
        this.progress = progress;
    }

    /** The int8 copy of the model ({@link io.streamdiffusion4j.convert.Int8Quantizer}) for the int8 experiment. */
    /** @param taesd the int8 copy of the TAESD the stream uses, or null when it decodes with its AutoencoderKL */
    public Benchmark withInt8Model(Path dir, Path taesd) {
        this.int8ModelDir = dir;
        this.int8TaesdDir = taesd;
        return this;
    }

    /** The gather window of the batched arms of the sessions experiment. */
    public Benchmark withGatherWindow(Duration window) {
        if (window.isNegative()) throw new IllegalArgumentException("the gather window must be >= 0, found " + window);
        this.gatherWindow = window;
        return this;
    }

    /**
     * The ControlNet graph and the model's UNet with residual inputs for the controlnet experiment,
     * and the preprocessor of its control images.
     */
    public Benchmark withControlNet(Path controlNetFile, Path unetWithControl, ControlPreprocessor preprocessor) {
        this.controlNetFile = controlNetFile;
        this.unetWithControl = unetWithControl;
        this.controlPreprocessor = preprocessor;
        return this;
    }

    private io.streamdiffusion4j.convert.IpAdapterStore.Variant ipAdapter;
    private double ipAdapterScale;
    private RgbImage styleImage;
    private Path rebuiltPlainUnet;

    /**
     * The IP-Adapter made ready for this model, its scale and the style image, and the folder of
     * the plain UNet rebuilt the same way as the adapter's (its baseline; {@code IpAdapterStore.rebuiltPlainUnet}),
     * for the ip-adapter experiment.
     */
    public Benchmark withIpAdapter(io.streamdiffusion4j.convert.IpAdapterStore.Variant v, double scale, RgbImage style,
                                   Path rebuiltPlainUnet) {
        this.ipAdapter = v;
        this.rebuiltPlainUnet = rebuiltPlainUnet;
        this.ipAdapterScale = scale;
        this.styleImage = style;
        return this;
    }

    public BenchReport run(Map<String, String> facts) throws IOException {
        BenchReport report = new BenchReport();
        StreamConfig main = run.streamConfig();
        Guidance guidance = Guidance.of(run.cfgType(), run.guidanceScale(), run.delta());
        boolean wantStatic = settings.staticShapes();
        Map<String, String> header = new LinkedHashMap<>(facts);
        header.put("threads", OrtRuntime.describe(options.threads()));
        header.put("comparisons", settings.compareFrames() + " measured frames per configuration after " + settings.warmup()
                + " warm-up, alternated frame by frame, order " + settings.order().key() + " (seed " + settings.seed() + ")");
        report.header(header);

        List<RgbImage> input = settings.input() != null ? settings.input()
                : SyntheticFrames.moving(Math.max(16, settings.warmup() + settings.frames()), run.width(), run.height());
        Path tiny = run.useTinyVae() ? taesdDir : null;
        boolean pipeline = settings.experiments().contains(Experiment.PIPELINE);
        boolean staticShapes = wantStatic && settings.experiments().contains(Experiment.STATIC_SHAPES);

        progress.accept("loading models with dynamic shapes");
        long t = System.nanoTime();
        try (StableDiffusionModels models = OnnxModelLoader.load(modelDir, tiny, options.withStaticShapes(null))) {
            report.loads("dynamic shapes", (System.nanoTime() - t) / 1e9, sessions(models));
            report.blankLine();
            RunSummary mainDynamic = null;
            if (wantStatic && (pipeline || staticShapes)) {
                StaticShapes shapes = new StaticShapes(StreamBatch.unetRows(main, guidance), main.frameBufferSize(),
                        main.frameBufferSize(), main.width(), main.height());
                progress.accept("loading models with static shapes (" + shapes + ")");
                t = System.nanoTime();
                // both sets stay loaded while they are compared, then the static one is closed
                try (StableDiffusionModels fixed = OnnxModelLoader.load(modelDir, tiny, options.withStaticShapes(shapes))) {
                    report.loads("static shapes", (System.nanoTime() - t) / 1e9, sessions(fixed));
                    report.blankLine();
                    if (pipeline) measureMain("stream, static shapes", fixed, main, guidance, input, report, true);
                    if (staticShapes) staticShapes(models, fixed, main, input, report);
                }
            } else if (pipeline) {
                mainDynamic = measureMain("stream, dynamic shapes", models, main, guidance, input, report, true);
            }
            if (settings.experiments().contains(Experiment.STREAM_BATCH)) streamBatch(models, report);
            if (settings.experiments().contains(Experiment.RCFG)) rcfg(models, report);
            if (settings.experiments().contains(Experiment.SSF)) similarityFilter(models, report);
            if (settings.experiments().contains(Experiment.NAIVE)) {
                if (mainDynamic == null) {
                    mainDynamic = measureMain("stream, dynamic shapes", models, main, guidance, input, report, false);
                }
                naive(models, input, mainDynamic, report);
            }
            if (settings.experiments().contains(Experiment.PRECOMPUTE)) precompute(models, tiny, main, input, report);
            if (settings.experiments().contains(Experiment.INT8)) int8(models, tiny, main, input, report);
            if (settings.experiments().contains(Experiment.SESSIONS)) sessions(models, report);
            if (settings.experiments().contains(Experiment.CONTROLNET)) controlNet(models, tiny, main, input, report);
            if (settings.experiments().contains(Experiment.IP_ADAPTER) && ipAdapter != null) {
                ipAdapter(models, main, input, report);
            }
        }
        return report;
    }

    private RunSummary measureMain(String name, StableDiffusionModels models, StreamConfig config, Guidance guidance,
                                   List<RgbImage> input, BenchReport report, boolean reportIt) throws IOException {
        progress.accept("measuring the configured stream (" + name + ")");
        int rows = StreamBatch.unetRows(config, guidance);
        List<Long> raw = new ArrayList<>();
        RunSummary r;
        try (OrtModelCalls calls = new OrtModelCalls(models, rows, config.frameBufferSize(), config.width(), config.height())) {
            calls.runFrame(); // the raw calls' own first run (output allocation) stays out of the numbers
            r = new StreamRunner(models, run).measure(name, config, input, settings.warmup(), settings.frames(),
                    () -> raw.add(calls.runFrame()));
        }
        if (reportIt) {
            report.pipeline("The configured stream (" + name + ")", r, raw.stream().mapToLong(Long::longValue).toArray(),
                    ProcessMemory.peakRssBytes());
        }
        return r;
    }

    /**
     * Runs the arms alternated frame by frame and reports them. Arm 0 is the baseline and arm 1
     * its control (the same configuration as a second stream); all arms are closed here.
     */
    private void compare(String title, String what, List<Supplier<StreamArm>> armMakers, List<RgbImage> input,
                         boolean sameSessions, BenchReport report) {
        List<StreamArm> arms = new ArrayList<>();
        try {
            for (Supplier<StreamArm> m : armMakers) arms.add(m.get());
            String loadBefore = MachineFacts.loadAverage();
            List<List<ArmFrame>> measured = Interleaved.run(arms, input, settings.warmup(), settings.compareFrames(),
                    settings.order(), settings.seed());
            report.comparison(Comparison.of(title, what, arms, measured, sameSessions), loadBefore, MachineFacts.loadAverage());
        } finally {
            arms.forEach(StreamArm::close);
        }
    }

    private void staticShapes(StableDiffusionModels dynamic, StableDiffusionModels fixed, StreamConfig main, List<RgbImage> input,
                              BenchReport report) {
        progress.accept("static against dynamic shapes, alternated");
        List<Supplier<StreamArm>> arms = new ArrayList<>();
        arms.add(() -> new StreamArm("dynamic shapes", dynamic, main, run));
        arms.add(() -> new StreamArm("dynamic shapes (control)", dynamic, main, run));
        arms.add(() -> new StreamArm("static shapes", fixed, main, run));
        compare("Static against dynamic shapes", "the configured stream on sessions loaded with its static shapes against"
                + " sessions with dynamic shapes (different sessions: no work bound)", arms, input, false, report);
    }

    /**
     * The configured stream with its UNet conditioning pre-computed against the same stream
     * without (a second set of sessions loaded the other way), alternated; then both on the same
     * frames, fresh, for the largest output difference.
     */
    private void precompute(StableDiffusionModels models, Path tiny, StreamConfig main, List<RgbImage> input,
                            BenchReport report) throws IOException {
        boolean loadedWith = options.precomputeConditioning();
        progress.accept("loading models " + (loadedWith ? "without" : "with") + " pre-computed conditioning");
        long t = System.nanoTime();
        try (StableDiffusionModels other = OnnxModelLoader.load(modelDir, tiny,
                options.withStaticShapes(null).withPrecomputeConditioning(!loadedWith))) {
            report.loads((loadedWith ? "without" : "with") + " pre-computed conditioning", (System.nanoTime() - t) / 1e9,
                    sessions(other));
            report.blankLine();
            StableDiffusionModels with = loadedWith ? models : other;
            StableDiffusionModels without = loadedWith ? other : models;
            progress.accept("pre-computed conditioning against none, alternated");
            List<Supplier<StreamArm>> arms = new ArrayList<>();
            arms.add(() -> new StreamArm("pre-computed conditioning", with, main, run));
            arms.add(() -> new StreamArm("pre-computed conditioning (control)", with, main, run));
            arms.add(() -> new StreamArm("conditioning every frame", without, main, run));
            compare("Pre-computed conditioning", "the UNet with its cross-attention keys/values and time embeddings computed"
                    + " once per prompt against computing them every frame (different sessions: no work bound)", arms, input,
                    false, report);
            int frames = Math.max(1, settings.compareFrames());
            double largest = 0;
            try (StreamArm a = new StreamArm("pre-computed", with, main, run);
                 StreamArm b = new StreamArm("every frame", without, main, run)) {
                for (int i = 0; i < frames; i++) {
                    RgbImage frame = input.get(i % input.size());
                    a.run(frame);
                    b.run(frame);
                    float[] x = a.lastOutput().data();
                    float[] y = b.lastOutput().data();
                    for (int k = 0; k < x.length; k++) largest = Math.max(largest, Math.abs(x[k] - y[k]));
                }
            }
            int values = with.unet() instanceof OrtUnet u ? u.precomputedValues() : 0;
            report.precomputeDifference(frames, largest, values);
        }
    }

    /**
     * The cost of one ControlNet per frame: the plain stream (and its control) against the same
     * stream on the UNet with residual inputs with the ControlNet at scale 0 (not run: the cost of
     * the residual inputs alone) and at scale 1 (run every frame on every UNet row), alternated.
     */
    private void controlNet(StableDiffusionModels plain, Path tiny, StreamConfig main, List<RgbImage> input, BenchReport report)
            throws IOException {
        if (controlNetFile == null) throw new IllegalStateException("the controlnet experiment needs a ControlNet (--controlnet)");
        progress.accept("loading the UNet with residual inputs and the ControlNet " + controlNetFile);
        long t = System.nanoTime();
        try (StableDiffusionModels withResiduals = OnnxModelLoader.load(modelDir, tiny, options.withStaticShapes(null), unetWithControl);
             OrtControlNet cn = OnnxModelLoader.loadControlNet(controlNetFile, options.withStaticShapes(null))) {
            report.loads("UNet with ControlNet residual inputs", (System.nanoTime() - t) / 1e9, sessions(withResiduals));
            report.note("ControlNet " + controlNetFile + " (" + cn.residualCount() + " residuals), control images by "
                    + controlPreprocessor.name() + ", made before each frame is timed (the engine makes them on its input thread)");
            report.blankLine();
            progress.accept("one ControlNet against the plain stream, alternated");
            List<Supplier<StreamArm>> arms = new ArrayList<>();
            arms.add(() -> new StreamArm("plain stream", plain, main, run));
            arms.add(() -> new StreamArm("plain stream (control)", plain, main, run));
            arms.add(() -> new StreamArm("residual inputs, ControlNet at 0", withResiduals, main, run, cn, 0, controlPreprocessor));
            arms.add(() -> new StreamArm("one ControlNet at 1", withResiduals, main, run, cn, 1, controlPreprocessor));
            compare("One ControlNet per frame", "the stream with one ControlNet (run on every UNet row of every frame) against"
                    + " the plain stream; the ControlNet at scale 0 is not run and shows the cost of the UNet's residual inputs"
                    + " alone (different sessions: no work bound)", arms, input, false, report);
        }
    }

    /**
     * The configured stream with the UNet in int8 against float32, alternated frame by frame with a
     * float control; and the PSNR of each int8 frame (and of each control frame, which should be
     * identical) against the float frame of the same round: the streams see the same inputs with
     * the same seed, so their frames differ only by the quantization.
     */
    private void int8(StableDiffusionModels floats, Path tiny, StreamConfig main, List<RgbImage> input, BenchReport report)
            throws IOException {
        if (int8ModelDir == null) throw new IllegalStateException("the int8 experiment needs the int8 copy of the model");
        progress.accept("loading the int8 model " + int8ModelDir);
        long t = System.nanoTime();
        Path int8Tiny = tiny != null ? int8TaesdDir : null;
        if (tiny != null && int8Tiny == null) throw new IllegalStateException("the int8 experiment needs the int8 copy of the TAESD");
        try (StableDiffusionModels int8 = OnnxModelLoader.load(int8ModelDir, int8Tiny, options.withStaticShapes(null))) {
            report.loads("int8", (System.nanoTime() - t) / 1e9, sessions(int8));
            report.blankLine();
            report.note("int8 UNet " + int8ModelDir.resolve("unet/model.onnx") + ": "
                    + io.streamdiffusion4j.convert.Int8Quantizer.int8Nodes(int8ModelDir.resolve("unet/model.onnx"))
                    + " int8 nodes (linear layers as DynamicQuantizeMatMul, convolutions with calibrated scales as QDQ pairs"
                    + " that ONNX Runtime fuses into QLinearConv); the other layers stay float32 (Int8Quantizer)");
            if (int8Tiny != null) {
                report.note("int8 TAESD " + int8Tiny + ": every convolution whose input can stay uint8 (static scales,"
                        + " calibrated: " + io.streamdiffusion4j.convert.TaesdQuantizer.calibration() + "; StaticInt8Quantizer)");
            }
            progress.accept("int8 against float32, alternated");
            List<StreamArm> arms = new ArrayList<>();
            try {
                arms.add(new StreamArm("float32", floats, main, run));
                arms.add(new StreamArm("float32 (control)", floats, main, run));
                if (int8Tiny != null) {
                    // the int8 UNet with the float TAESD, to tell the two parts apart
                    StableDiffusionModels unetOnly = new StableDiffusionModels(int8.tokenizer(), int8.textEncoder(), int8.unet(),
                            floats.vae(), int8.schedulerConfig(), int8.description());
                    arms.add(new StreamArm("int8 UNet, float32 TAESD", unetOnly, main, run));
                    arms.add(new StreamArm("int8 UNet and TAESD", int8, main, run));
                } else {
                    arms.add(new StreamArm("int8 UNet", int8, main, run));
                }
                List<List<RgbImage>> outputs = new ArrayList<>();
                for (int a = 0; a < arms.size(); a++) outputs.add(new ArrayList<>());
                List<Arm> recording = new ArrayList<>();
                for (int a = 0; a < arms.size(); a++) {
                    StreamArm arm = arms.get(a);
                    List<RgbImage> kept = outputs.get(a);
                    recording.add(new Arm() {
                        public String name() { return arm.name(); }
                        public String config() { return arm.config(); }
                        public ArmFrame run(RgbImage in) {
                            ArmFrame f = arm.run(in);
                            kept.add(arm.lastImages().getFirst());
                            return f;
                        }
                        public void close() {}
                    });
                }
                String loadBefore = MachineFacts.loadAverage();
                List<List<ArmFrame>> measured = Interleaved.run(recording, input, settings.warmup(), settings.compareFrames(),
                        settings.order(), settings.seed());
                report.comparison(Comparison.of("int8 against float32", "the configured stream with its UNet"
                        + (int8Tiny != null ? " (and TAESD)" : "") + " quantized to int8 (int8 copies of the model: different"
                        + " sessions, no work bound)", recording, measured, false), loadBefore, MachineFacts.loadAverage());
                List<String> names = new ArrayList<>();
                List<double[]> psnrs = new ArrayList<>();
                for (int a = 1; a < arms.size(); a++) {
                    names.add(arms.get(a).name());
                    psnrs.add(psnrs(outputs.get(a), outputs.get(0)));
                }
                report.quality("int8 against float32", names, psnrs);
            } finally {
                arms.forEach(StreamArm::close);
            }
        }
    }

    /**
     * The cost of an IP-Adapter per frame. The adapter's UNet is the model's UNet built again with
     * the decoupled cross-attention ({@code IpAdapterStore}), so the baseline is the plain UNet
     * built again the same way (same weights read back, same builder, same writer, same session
     * options), without the adapter; the model's own converted UNet runs as a fourth arm and shows
     * what the rebuild alone changes. The adapter's UNet at scale 0 would be no baseline: it still
     * runs the image tokens' attention. Alternated frame by frame with a control arm (the rebuilt
     * plain UNet again). The adapter's image K/V are pre-computed once (with the prompt's), so the
     * adapter's arm pays only the extra attention per cross-attention.
     */
    private void ipAdapter(StableDiffusionModels plain, StreamConfig main, List<RgbImage> input, BenchReport report)
            throws IOException {
        if (rebuiltPlainUnet == null) throw new IllegalStateException("the ip-adapter experiment needs the plain UNet rebuilt like the adapter's");
        progress.accept("loading the IP-Adapter's UNet " + ipAdapter.unet() + " and the plain UNet rebuilt the same way "
                + rebuiltPlainUnet);
        long t = System.nanoTime();
        try (Unet rebuilt = OnnxModelLoader.loadUnet(rebuiltPlainUnet.resolve("model.onnx"), options.withStaticShapes(null))) {
            report.loads("plain UNet rebuilt like the adapter's", (System.nanoTime() - t) / 1e9, unetSessions(rebuilt));
            t = System.nanoTime();
            try (Unet ipUnet = OnnxModelLoader.loadUnet(ipAdapter.unet().resolve("model.onnx"), options.withStaticShapes(null))) {
                report.loads("IP-Adapter's UNet", (System.nanoTime() - t) / 1e9, unetSessions(ipUnet));
                report.blankLine();
                // the other parts are the plain model's (closed with it): only the UNets differ between the arms
                StableDiffusionModels rebuiltModels = plain.withUnet(rebuilt);
                StableDiffusionModels ipModels = plain.withUnet(ipUnet);
                progress.accept("IP-Adapter against the plain UNet rebuilt the same way, alternated");
                List<StreamArm> arms = new ArrayList<>();
                try {
                    arms.add(new StreamArm("plain, rebuilt", rebuiltModels, main, run));
                    arms.add(new StreamArm("plain, rebuilt (control)", rebuiltModels, main, run));
                    io.streamdiffusion4j.model.ImageEncoder encoder = io.streamdiffusion4j.onnx.OrtImageEncoder.open(ipAdapter.imageEncoder());
                    try {
                        arms.add(new StreamArm("IP-Adapter at " + ipAdapterScale, ipModels, main, run,
                                b -> b.imageEncoder(encoder, ipAdapterScale).styleImage(styleImage)));
                    } catch (RuntimeException e) {
                        encoder.close();
                        throw e;
                    }
                    arms.add(new StreamArm("plain, the model's converted UNet", plain, main, run));
                    String loadBefore = MachineFacts.loadAverage();
                    List<Arm> measuredArms = new ArrayList<>(arms);
                    List<List<ArmFrame>> measured = Interleaved.run(measuredArms, input, settings.warmup(), settings.compareFrames(),
                            settings.order(), settings.seed());
                    report.comparison(Comparison.of("IP-Adapter against the plain stream", "the configured stream on the adapter's"
                            + " UNet with a style image (" + ipAdapter.tokens() + " image tokens per cross-attention, their K/V"
                            + " pre-computed) against the plain UNet rebuilt the same way (read back from the converted graph,"
                            + " same builder, no adapter); the model's own converted UNet shows what the rebuild alone changes"
                            + " (different sessions: no work bound)", measuredArms, measured, false), loadBefore,
                            MachineFacts.loadAverage());
                } finally {
                    arms.forEach(StreamArm::close);
                }
            }
        }
    }

    /** PSNR of each frame of {@code arm} against the baseline's frame of the same round (warm-up rounds included). */
    private static double[] psnrs(List<RgbImage> arm, List<RgbImage> base) {
        double[] p = new double[arm.size()];
        for (int i = 0; i < p.length; i++) p[i] = Psnr.of(arm.get(i), base.get(i));
        return p;
    }

    private StreamConfig sweep(int[] tIndexList, CfgType cfg, boolean batch) {
        return run.streamConfig().toBuilder().size(settings.sweepWidth(), settings.sweepHeight()).tIndexList(tIndexList)
                .cfgType(cfg).useDenoisingBatch(batch).similarFilter(SimilarityFilterSettings.DISABLED).build();
    }

    private List<RgbImage> sweepInput() {
        return SyntheticFrames.moving(16, settings.sweepWidth(), settings.sweepHeight());
    }

    private void streamBatch(StableDiffusionModels models, BenchReport report) {
        for (int n : new int[] {1, 2, 4}) {
            progress.accept("stream batch vs sequential, n = " + n + ", alternated");
            List<Supplier<StreamArm>> arms = new ArrayList<>();
            arms.add(() -> new StreamArm("stream batch", models, sweep(T_INDEX_LISTS.get(n), run.cfgType(), true), run));
            arms.add(() -> new StreamArm("stream batch (control)", models, sweep(T_INDEX_LISTS.get(n), run.cfgType(), true), run));
            arms.add(() -> new StreamArm("sequential", models, sweep(T_INDEX_LISTS.get(n), run.cfgType(), false), run));
            compare("Stream Batch against the sequential loop, n = " + n, "sequential / stream batch", arms, sweepInput(), true,
                    report);
        }
    }

    private void rcfg(StableDiffusionModels models, BenchReport report) {
        if (run.guidanceScale() <= 1) {
            report.note("RCFG comparison: guidance_scale is " + run.guidanceScale() + " (<= 1), so full and initialize add no"
                    + " negative rows; set --guidance-scale above 1 to compare them.");
        }
        for (int n : settings.rcfgSteps()) {
            progress.accept("RCFG none/self/initialize/full, n = " + n + ", alternated");
            List<Supplier<StreamArm>> arms = new ArrayList<>();
            arms.add(() -> new StreamArm("cfg self", models, sweep(T_INDEX_LISTS.get(n), CfgType.SELF, true), run));
            arms.add(() -> new StreamArm("cfg self (control)", models, sweep(T_INDEX_LISTS.get(n), CfgType.SELF, true), run));
            for (CfgType cfg : List.of(CfgType.NONE, CfgType.INITIALIZE, CfgType.FULL)) {
                arms.add(() -> new StreamArm("cfg " + cfg.key(), models, sweep(T_INDEX_LISTS.get(n), cfg, true), run));
            }
            compare("RCFG, n = " + n, "each cfg type / cfg self", arms, sweepInput(), true, report);
        }
    }

    private void similarityFilter(StableDiffusionModels models, BenchReport report) throws IOException {
        SimilarityFilterSettings configured = run.similarImageFilter();
        SimilarityFilterSettings ssf = configured.enabled() ? configured : new SimilarityFilterSettings(true, 0.98, 10);
        StreamConfig config = run.streamConfig().toBuilder().size(settings.sweepWidth(), settings.sweepHeight())
                .similarFilter(ssf).build();
        StreamRunner runner = new StreamRunner(models, run);
        int n = settings.filterFrames();
        progress.accept("similarity filter, still input");
        RunSummary still = runner.measure("still input", config, SyntheticFrames.still(n, settings.sweepWidth(), settings.sweepHeight()),
                0, n, null);
        progress.accept("similarity filter, moving input");
        RunSummary moving = runner.measure("moving input", config, SyntheticFrames.moving(n, settings.sweepWidth(), settings.sweepHeight()),
                0, n, null);
        report.similarityFilter(still, moving);
    }

    private void naive(StableDiffusionModels models, List<RgbImage> input, RunSummary stream, BenchReport report) throws IOException {
        progress.accept("loading the model's own AutoencoderKL for the naive baseline");
        try (Vae kl = OnnxModelLoader.loadVae(modelDir, false, options.withStaticShapes(null))) {
            StableDiffusionModels withKl = new StableDiffusionModels(models.tokenizer(), models.textEncoder(), models.unet(), kl,
                    models.schedulerConfig(), models.description() + " with its AutoencoderKL");
            progress.accept("naive per-frame img2img");
            RunSummary naive = new NaiveImg2Img(withKl, run).measure(input, settings.warmup(), settings.frames());
            report.naive(naive, stream);
        }
    }

    /** The session counts of the sessions experiment. */
    static final int[] SESSION_COUNTS = {1, 2, 4};

    /**
     * 1, 2 and 4 concurrent streams of the configured stream at the sweep size on one model, each count with its
     * UNet calls batched across the sessions against separate calls (the baseline, and again as
     * the control), alternated round by round; then per arm the total and per-session frames/s,
     * the sessions' latency percentiles and the model calls per frame.
     */
    private void sessions(StableDiffusionModels models, BenchReport report) {
        StreamConfig config = sweep(run.tIndexList(), run.cfgType(), true);
        for (int k : SESSION_COUNTS) {
            progress.accept(k + " session(s), batched against separate calls, alternated");
            List<SessionsArm> arms = new ArrayList<>();
            try {
                arms.add(new SessionsArm(k + " separate", models, config, run, k, null));
                arms.add(new SessionsArm(k + " separate (control)", models, config, run, k, null));
                arms.add(new SessionsArm(k + " batched", models, config, run, k, gatherWindow));
                String loadBefore = MachineFacts.loadAverage();
                List<List<ArmFrame>> measured = Interleaved.run(arms, sweepInput(), settings.warmup(), settings.compareFrames(),
                        settings.order(), settings.seed());
                report.comparison(Comparison.of(k + " concurrent session(s): batched against separate UNet calls",
                        "batched / separate (frame: the round until every session has its image)", arms, measured, true),
                        loadBefore, MachineFacts.loadAverage());
                List<BenchReport.SessionsRow> rows = new ArrayList<>();
                for (int a = 0; a < arms.size(); a++) {
                    SessionsArm arm = arms.get(a);
                    List<ArmFrame> m = measured.get(a);
                    long roundNanos = m.stream().mapToLong(ArmFrame::frameNanos).sum();
                    long calls = m.stream().mapToLong(ArmFrame::calls).sum();
                    rows.add(new BenchReport.SessionsRow(arm.name(), k, m.size(), roundNanos,
                            Percentiles.ofNanos(arm.latencies(m.size())), calls, arm.batchStats(m.size())));
                }
                report.sessions(k, gatherWindow, rows);
            } finally {
                arms.forEach(SessionsArm::close);
            }
        }
    }

    private static List<String> unetSessions(Unet u) {
        return u instanceof OrtUnet o ? List.of("UNet: " + o.setup()) : List.of();
    }

    private static List<String> sessions(StableDiffusionModels m) {
        List<String> out = new ArrayList<>();
        if (m.textEncoder() instanceof OrtTextEncoder t) out.add("text encoder: " + t.setup());
        if (m.unet() instanceof OrtUnet u) out.add("UNet: " + u.setup());
        if (m.vae().encoder() instanceof OrtVaeEncoder e) out.add("VAE encoder: " + e.setup());
        if (m.vae().decoder() instanceof OrtVaeDecoder d) out.add("VAE decoder: " + d.setup());
        return out;
    }
}
