package io.streamdiffusion4j.web;

import io.streamdiffusion4j.batching.BatchingUnet;
import io.streamdiffusion4j.batching.BatchingVae;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.ControlNet;
import io.streamdiffusion4j.model.ImageEncoder;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.IpAdapterStyle;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.PromptBlend;
import io.streamdiffusion4j.pipeline.SeedBlend;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.Warmup;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Builds one prepared stream per session on models loaded once: every session has its own
 * stream buffer, noise, prompt embeddings and similarity filter (two browser tabs never mix, as
 * they do in the original demo, its issue #156), while the models are shared, one call at a
 * time per component (the ONNX model classes take turns on their buffers).
 */
public final class StreamFactory {
    private static final SecureRandom SEEDS = new SecureRandom();

    private final StableDiffusionModels models;
    private final StreamConfig base;
    private final int numInferenceSteps;
    private final int[] txt2imgTIndexList;
    private volatile StreamSettings defaults; // set again only by startingBlends, before sessions
    private volatile boolean randomSeed;
    private final StrengthPresets presets;
    private final Warmup warmup;
    // ControlNets shared by every img2img session (each session has its own scales); empty: none
    private volatile List<ControlNet> controlNets = List.of();
    private volatile ControlPreprocessor controlPreprocessor;
    // the IP-Adapter's image encoder shared by every session (null: none), and the style image sessions start with
    private volatile ImageEncoder imageEncoder;
    private volatile RgbImage initialStyle;

    /**
     * @param base the server's stream shape: size, cfg type, frame_buffer_size 1
     * @param txt2imgTIndexList the steps of txt2img sessions, which start from pure noise
     * @param defaults the settings a new session starts with; a negative {@code seedOrRandom}
     *                 gives each session its own random seed
     */
    public StreamFactory(StableDiffusionModels models, StreamConfig base, int numInferenceSteps, int[] txt2imgTIndexList,
                         String prompt, String negativePrompt, double guidanceScale, double delta, long seedOrRandom) {
        this(models, base, numInferenceSteps, txt2imgTIndexList, prompt, negativePrompt, guidanceScale, delta, seedOrRandom, 0);
    }

    /**
     * @param warmupRuns runs of each model per new stream shape before a session's first frame
     *                   ({@link Warmup}; 0: none). The models are shared, so a shape is warmed once.
     */
    public StreamFactory(StableDiffusionModels models, StreamConfig base, int numInferenceSteps, int[] txt2imgTIndexList,
                         String prompt, String negativePrompt, double guidanceScale, double delta, long seedOrRandom,
                         int warmupRuns) {
        this.models = Objects.requireNonNull(models, "models");
        if (base.frameBufferSize() != 1) {
            throw new IllegalArgumentException("the web server streams frame by frame: frame_buffer_size must be 1, found "
                    + base.frameBufferSize());
        }
        this.base = base;
        this.numInferenceSteps = numInferenceSteps;
        for (int t : txt2imgTIndexList) {
            if (t < 0 || t >= numInferenceSteps) {
                throw new IllegalArgumentException("txt2img t_index_list entry " + t + " is outside [0, " + (numInferenceSteps - 1) + "]");
            }
        }
        this.txt2imgTIndexList = txt2imgTIndexList.clone();
        this.randomSeed = seedOrRandom < 0;
        this.presets = StrengthPresets.forSteps(numInferenceSteps);
        this.warmup = new Warmup(models, warmupRuns);
        this.defaults = new StreamSettings(prompt, negativePrompt, Arrays.stream(base.tIndexList()).boxed().toList(), guidanceScale,
                delta, randomSeed ? 0 : seedOrRandom, base.similarFilter());
    }

    /**
     * Sessions start from these blends (the server's {@code prompt_list} / {@code seed_list} and
     * transition) instead of the single prompt and seed; null or empty lists keep those. Call
     * before the server takes sessions. A seed blend fixes every session's noise, random seed or not.
     */
    public StreamFactory startingBlends(PromptBlend prompts, SeedBlend seeds, int promptTransitionFrames) {
        List<WeightedPrompt> promptList = prompts == null || prompts.isSingle() ? List.of() : prompts.prompts();
        Interpolation interpolation = prompts == null ? Interpolation.LINEAR : prompts.interpolation();
        List<WeightedSeed> seedList = seeds == null || seeds.isSingle() ? List.of() : seeds.seeds();
        long seed = seeds != null ? seeds.primarySeed() : defaults.seed();
        if (!seedList.isEmpty()) randomSeed = false;
        defaults = new StreamSettings(prompts != null ? prompts.primaryText() : defaults.prompt(), defaults.negativePrompt(),
                defaults.tIndexList(), defaults.guidanceScale(), defaults.delta(), seed, defaults.filter(), promptList,
                interpolation, seedList, promptTransitionFrames, defaults.controlnetScales(), defaults.ipAdapterScale());
        return this;
    }

    /**
     * Runs these ControlNets (loaded once, shared; not closed here) in every img2img session,
     * starting at {@code scales}, with control images made by {@code preprocessor}; each session
     * changes its own scales. The models' UNet must take residuals, so txt2img sessions (which
     * have no control image) are refused. Call before the server takes sessions.
     */
    public StreamFactory controlNets(List<ControlNet> nets, double[] scales, ControlPreprocessor preprocessor) {
        if (nets.size() != scales.length) throw new IllegalArgumentException(nets.size() + " ControlNets, " + scales.length + " scales");
        controlNets = List.copyOf(nets);
        controlPreprocessor = Objects.requireNonNull(preprocessor, "preprocessor");
        defaults = defaults.withControlnetScales(Arrays.stream(scales).boxed().toList());
        return this;
    }

    /**
     * Runs an IP-Adapter in every session: the models' UNet must be the adapter's, and
     * {@code encoder} (loaded once, shared, not closed here; its calls take turns) makes each
     * session's style tokens. Sessions start at {@code scale} with {@code style} (null: none until
     * the page sends one); each changes its own. Call before the server takes sessions.
     */
    public StreamFactory ipAdapter(ImageEncoder encoder, double scale, RgbImage style) {
        if (!(scale >= 0 && scale <= IpAdapterStyle.MAX_SCALE)) {
            throw new IllegalArgumentException("ip_adapter_scale must be between 0 and " + IpAdapterStyle.MAX_SCALE + ", found " + scale);
        }
        imageEncoder = Objects.requireNonNull(encoder, "encoder");
        initialStyle = style;
        defaults = defaults.withIpAdapterScale(scale);
        return this;
    }

    /** Whether sessions run an IP-Adapter (the pages then offer a style image and a scale). */
    public boolean hasIpAdapter() {
        return imageEncoder != null;
    }

    /**
     * A style image's tokens for a session's stream (null for none), encoded on the caller's thread
     * by the shared encoder (its calls take turns), so the model thread only swaps them in.
     */
    FloatTensor encodeStyle(RgbImage image) {
        if (imageEncoder == null) throw new IllegalStateException("this server runs no IP-Adapter");
        return image == null ? null : imageEncoder.encode(image);
    }

    /** Whether sessions start with a style image (the server's --style-image). */
    boolean hasInitialStyle() {
        return initialStyle != null;
    }

    /** The settings a new session starts with (its own random seed when the server's seed is random). */
    StreamSettings initialSettings() {
        return randomSeed ? defaults.withSeed(SEEDS.nextInt(Integer.MAX_VALUE)) : defaults;
    }

    /** A prepared img2img stream; warm start, so the first frames show the picture, not an empty buffer. */
    StreamDiffusion img2img(StreamSettings s) throws IOException {
        return build(Mode.IMG2IMG, s.tIndexArray(), s);
    }

    /** A prepared txt2img stream with the server's txt2img steps. */
    StreamDiffusion txt2img(StreamSettings s) throws IOException {
        if (!controlNets.isEmpty()) {
            throw new IllegalStateException("this server runs ControlNets (a UNet with residual inputs): txt2img sessions are not"
                    + " available; use the img2img page");
        }
        return build(Mode.TXT2IMG, txt2imgTIndexList, s);
    }

    private StreamDiffusion build(Mode mode, int[] tIndex, StreamSettings s) throws IOException {
        // a negative long is a seed of 2^63 or more (TorchSeed), which the stream's config reads as "random": set it after prepare
        boolean highSeed = s.seed() < 0;
        StreamDiffusion.Builder b = StreamDiffusion.builder().models(models).config(base).mode(mode).tIndexList(tIndex)
                .seed(highSeed ? 0 : s.seed()).warmStart(mode == Mode.IMG2IMG);
        if (mode == Mode.IMG2IMG && !controlNets.isEmpty()) {
            for (int i = 0; i < controlNets.size(); i++) b.controlNet(controlNets.get(i), s.controlnetScales().get(i));
            b.controlPreprocessor(controlPreprocessor);
        }
        if (imageEncoder != null) b.imageEncoder(new SharedEncoder(imageEncoder), s.ipAdapterScale()).styleImage(initialStyle);
        StreamDiffusion stream = b.build();
        try {
            stream.prepare(s.promptBlend(), s.negativePrompt(), numInferenceSteps, s.guidanceScale(), s.delta());
            if (highSeed) stream.updateSeed(s.seed());
            if (!s.seedList().isEmpty()) stream.updateSeedBlend(s.seedBlend());
            if (s.promptTransitionFrames() > 0) stream.updatePromptTransitionFrames(s.promptTransitionFrames());
            stream.updateSimilarityFilter(s.filter());
            warmup.ensure(stream);
            return stream;
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    /**
     * Moves a session's stream from {@code previous} to {@code next} settings (live, no reload) and
     * warms the models for its shapes if the change made new ones (another number of steps or
     * guidance rows), so the frames after a live change run at steady speed too. Called on the
     * thread that runs the stream.
     */
    void applyLive(StreamSettings previous, StreamSettings next, StreamDiffusion stream, boolean withTIndexList) {
        next.applyChanges(previous, stream, withTIndexList);
        warmup.ensure(stream);
    }

    /**
     * Warms the models for the shapes of new sessions with the default settings (img2img and
     * txt2img), before the first client comes; returns the total. Sessions whose settings change
     * the shapes (another strength, guidance rows) warm theirs when they start.
     */
    public Warmup.Report warmUpDefaults() throws IOException {
        int calls = 0;
        long nanos = 0;
        StreamSettings s = defaults.withSeed(0);
        for (Mode mode : controlNets.isEmpty() ? List.of(Mode.IMG2IMG, Mode.TXT2IMG) : List.of(Mode.IMG2IMG)) {
            StreamDiffusion.Builder b = StreamDiffusion.builder().models(models).config(base).mode(mode)
                    .tIndexList(mode == Mode.IMG2IMG ? s.tIndexArray() : txt2imgTIndexList).seed(0);
            for (int i = 0; i < controlNets.size(); i++) b.controlNet(controlNets.get(i), s.controlnetScales().get(i));
            if (imageEncoder != null) b.imageEncoder(new SharedEncoder(imageEncoder), s.ipAdapterScale());
            try (StreamDiffusion stream = b.build()) {
                stream.prepare(s.prompt(), s.negativePrompt(), numInferenceSteps, s.guidanceScale(), s.delta());
                Warmup.Report r = warmup.ensure(stream);
                calls += r.calls();
                nanos += r.nanos();
            }
        }
        return new Warmup.Report(calls, nanos);
    }

    /**
     * The batching UNet the sessions share when the models were given with one (cross-session
     * batching, {@code serve --gather-window-ms}), else empty.
     */
    public Optional<BatchingUnet> batching() {
        return models.unet() instanceof BatchingUnet b ? Optional.of(b) : Optional.empty();
    }

    /** The batching VAE the sessions share (cross-session batching of the VAE's calls too), else empty. */
    public Optional<BatchingVae> vaeBatching() {
        return BatchingVae.behind(models.vae());
    }

    public int width() {
        return base.width();
    }

    public int height() {
        return base.height();
    }

    public int numInferenceSteps() {
        return numInferenceSteps;
    }

    List<Integer> txt2imgTIndexList() {
        return Arrays.stream(txt2imgTIndexList).boxed().toList();
    }

    StrengthPresets presets() {
        return presets;
    }

    /** The shared encoder as one stream sees it: a stream closes its encoder, this one outlives the sessions. */
    private record SharedEncoder(ImageEncoder shared) implements ImageEncoder {
        @Override
        public FloatTensor encode(RgbImage image) {
            return shared.encode(image);
        }

        @Override
        public FloatTensor negativeTokens() {
            return shared.negativeTokens();
        }

        @Override
        public int tokens() {
            return shared.tokens();
        }

        @Override
        public int crossAttentionDim() {
            return shared.crossAttentionDim();
        }

        @Override
        public void close() {
            // the server's, closed with the stream that loaded it
        }
    }

    SettingsParser parser(boolean img2img) {
        return new SettingsParser(numInferenceSteps, presets, width(), height(), img2img);
    }
}
