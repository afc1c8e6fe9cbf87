package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.control.ControlImages;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.control.Passthrough;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.ImagePreprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.ControlNet;
import io.streamdiffusion4j.convert.IpAdapterStore;
import io.streamdiffusion4j.model.ImageEncoder;
import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.Vae;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtImageEncoder;
import io.streamdiffusion4j.random.MemoryFormat;
import io.streamdiffusion4j.random.PythonRandom;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.random.UniformSource;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * StreamDiffusion: real-time img2img and txt2img with a few-step diffusion model.
 *
 * <p>Per frame: preprocess -> (similarity filter) -> VAE encode -> add noise -> Stream Batch
 * denoise with RCFG -> VAE decode. Prompt embeddings, noise and scheduler coefficients are
 * computed once in {@link #prepare}. The same seed gives the same numbers as the Python
 * original (cumulo-autumn/StreamDiffusion) run in float32 on the CPU.
 *
 * <pre>{@code
 * try (StreamDiffusion stream = StreamDiffusion.builder()
 *         .model(Path.of("models/sd-turbo-onnx")).taesd(Path.of("models/taesd-onnx"))
 *         .tIndexList(32, 45).size(512, 512).build()) {
 *     stream.prepare("a watercolor fox", "", 50, 1.2, 1.0);
 *     List<RgbImage> out = stream.img2img(List.of(frame));
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one stream, one thread (the real-time engine feeds it from one model thread).
 */
public final class StreamDiffusion implements AutoCloseable {
    private final StableDiffusionModels models;
    private final boolean ownsModels;
    private StreamConfig config;
    private final Mode mode;
    private final LcmScheduler scheduler;
    private final PromptEncoder prompts;
    private final ImagePreprocessor preprocessor;
    private final UniformSource replayedDraws;
    private long seed;
    private final boolean warmStart;
    private boolean streamFresh;

    // Random sources, seeded in prepare() as the original's harness seeds them.
    private final TorchGenerator generator;        // prepare(generator=G): init noise, VAE posterior samples
    private final TorchGenerator globalGenerator;  // torch's global generator: txt2img and re-noising noise
    private SimilarityFilter similarityFilter;

    private StreamBatch streamBatch;
    private String prompt;
    private PromptBlend promptBlend;
    private FloatTensor positive;              // the blended embedding of promptBlend
    private PromptTransition transition;       // non-null while a prompt change is spread over frames
    private int promptTransitionFrames;
    private SeedBlend seedBlend;
    private String negativePrompt;
    private int numInferenceSteps;
    private Guidance guidance;
    private boolean lastSkipped;
    private long encodeNanos;
    private long denoiseNanos;
    private long decodeNanos;
    private FrameBuffers frameBuffers;
    private boolean hasOutput;
    private long unetCallsOfReplacedBatches;
    private long unetRowsOfReplacedBatches;
    /** The ControlNets and their live scales; null without any (the plain path, unchanged). */
    private final ControlNets controlNets;
    private final ControlPreprocessor controlPreprocessor;
    private final boolean ownsControlPreprocessor;
    private final IpAdapterStyle ipAdapter; // null without an IP-Adapter

    private StreamDiffusion(Builder b, StableDiffusionModels models, boolean ownsModels, ControlNets controlNets) {
        this.models = models;
        this.controlNets = controlNets;
        this.controlPreprocessor = b.controlPreprocessor;
        this.ownsControlPreprocessor = b.ownsControlPreprocessor;
        if (controlNets != null && !models.unet().acceptsResiduals()) {
            throw new IllegalArgumentException("a ControlNet needs a UNet made with ControlNet residual inputs, and the UNet of "
                    + models.description() + " has none");
        }
        this.ownsModels = ownsModels;
        this.config = b.config.build();
        this.mode = b.mode;
        this.scheduler = new LcmScheduler(models.schedulerConfig());
        this.prompts = new PromptEncoder(models.tokenizer(), models.textEncoder());
        this.preprocessor = new ImagePreprocessor(config.width(), config.height());
        this.replayedDraws = b.similarityDraws;
        this.seed = b.seedBlend != null ? b.seedBlend.primarySeed()
                : config.seed() >= 0 ? config.seed() : new SplittableRandom().nextInt(1_000_000);
        this.seedBlend = b.seedBlend != null ? b.seedBlend : SeedBlend.of(seed);
        this.promptTransitionFrames = b.promptTransitionFrames;
        this.warmStart = b.warmStart;
        this.generator = new TorchGenerator(seed);
        this.globalGenerator = new TorchGenerator(seed);
        this.ipAdapter = b.imageEncoder == null ? null : new IpAdapterStyle(b.imageEncoder, b.ipAdapterScale);
        if (ipAdapter != null && b.styleImage != null) ipAdapter.setImage(b.styleImage);
        if (ipAdapter != null && controlNets != null) controlNets.skipAppendedRows(ipAdapter.appendedRows());
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Encodes the prompts, derives the scheduler coefficients, draws the fixed noise and empties
     * the stream (the original's {@code prepare}). Re-seeds every random source from the seed.
     *
     * @param negativePrompt used by cfg full and initialize when guidance_scale > 1
     */
    public void prepare(String prompt, String negativePrompt, int numInferenceSteps, double guidanceScale, double delta) {
        prepare(PromptBlend.of(Objects.requireNonNull(prompt, "prompt")), negativePrompt, numInferenceSteps, guidanceScale, delta);
    }

    /**
     * {@link #prepare(String, String, int, double, double)} with a blend of prompts; a one-entry
     * blend is exactly the single prompt.
     */
    public void prepare(PromptBlend prompt, String negativePrompt, int numInferenceSteps, double guidanceScale, double delta) {
        Objects.requireNonNull(prompt, "prompt");
        LcmCoefficients coefficients = LcmCoefficients.compute(scheduler, numInferenceSteps, config.tIndexList());
        Guidance g = Guidance.of(config.cfgType(), guidanceScale, delta);
        generator.manualSeed(seed);
        globalGenerator.manualSeed(seed);
        similarityFilter = config.similarFilter().enabled()
                ? new SimilarityFilter(config.similarFilter(), replayedDraws != null ? replayedDraws : new PythonRandom(seed))
                : null;
        setPromptBlend(prompt);
        this.transition = null;
        this.negativePrompt = negativePrompt == null ? "" : negativePrompt;
        this.numInferenceSteps = numInferenceSteps;
        this.guidance = g;
        if (streamBatch != null) {
            unetCallsOfReplacedBatches += streamBatch.unetCalls();
            unetRowsOfReplacedBatches += streamBatch.unetRows();
            streamBatch.close();
        }
        streamBatch = new StreamBatch(models.unet(), config, coefficients, globalGenerator);
        streamBatch.setControlNets(controlNets);
        streamBatch.setConditioning(g, conditioning());
        streamBatch.reset(drawInitNoise());
        hasOutput = false;
        lastSkipped = false;
        streamFresh = true;
    }

    /**
     * Changes the prompt at the next frame, keeping the negative prompt, the noise and the
     * stream buffer. (The original drops the negative-prompt rows here, which then breaks cfg
     * full and initialize; this keeps them.)
     */
    public void updatePrompt(String prompt) {
        updatePrompt(prompt, negativePrompt);
    }

    /** Changes prompt and negative prompt at the next frame; embeddings are cached per text. */
    public void updatePrompt(String prompt, String negativePrompt) {
        updatePromptBlend(PromptBlend.of(Objects.requireNonNull(prompt, "prompt")), negativePrompt);
    }

    /**
     * Changes the prompt blend at the next frame, keeping the negative prompt. With
     * {@link #updatePromptTransitionFrames prompt_transition_frames} N > 0 the change is spread
     * over the next N generated frames (see {@link PromptTransition}); otherwise it is immediate.
     */
    public void updatePromptBlend(PromptBlend blend) {
        updatePromptBlend(blend, negativePrompt);
    }

    /** Changes the prompt blend and the negative prompt (the negative prompt changes at once). */
    public void updatePromptBlend(PromptBlend blend, String negativePrompt) {
        requirePrepared();
        Objects.requireNonNull(blend, "blend");
        FloatTensor from = currentPositive();
        boolean changed = !blend.equals(promptBlend);
        setPromptBlend(blend);
        transition = changed && promptTransitionFrames > 0
                ? new PromptTransition(from, positive, promptTransitionFrames, blend.interpolation())
                : null;
        this.negativePrompt = negativePrompt == null ? "" : negativePrompt;
        streamBatch.setConditioning(guidance, conditioning());
    }

    /**
     * Over how many frames later prompt changes are spread (0: at once, the default). A
     * transition under way finishes as it started.
     */
    public void updatePromptTransitionFrames(int frames) {
        promptTransitionFrames = LiveSettingsLimits.checkTransitionFrames(frames);
    }

    private void setPromptBlend(PromptBlend blend) {
        this.promptBlend = blend;
        this.prompt = blend.primaryText();
        List<WeightedPrompt> entries = blend.effective();
        if (entries.size() == 1) {
            positive = prompts.encode(entries.getFirst().text()); // exactly the single-prompt path
        } else {
            positive = Blending.embeddings(entries.stream().map(p -> prompts.encode(p.text())).toList(),
                    entries.stream().mapToDouble(WeightedPrompt::weight).toArray(), blend.interpolation());
        }
    }

    private FloatTensor currentPositive() {
        return transition != null ? transition.current() : positive;
    }

    /** At the start of a generated frame: the next step of a prompt transition, if one is under way. */
    private void advanceTransition() {
        if (transition == null) return;
        transition.advance();
        streamBatch.setConditioning(guidance, conditioning());
        if (transition.done()) transition = null;
    }

    // ---- live control: effective at the next frame, without reloading models -------------------

    /** Changes guidance_scale and delta; the UNet batch gains or loses negative rows as needed. */
    public void updateGuidance(double guidanceScale, double delta) {
        requirePrepared();
        guidance = Guidance.of(config.cfgType(), guidanceScale, delta);
        streamBatch.setConditioning(guidance, conditioning());
    }

    /**
     * Changes t_index_list. With the same number of steps the stream keeps its buffer, stock noise
     * and noise and only the coefficients change; with another number the batch is resized: the
     * fixed noise is drawn again from the seed and the buffer restarts empty (or from the next
     * frame with warm start).
     */
    public void updateTIndexList(int... tIndexList) {
        requirePrepared();
        StreamConfig next = config.toBuilder().tIndexList(tIndexList).build();
        LcmCoefficients coefficients = LcmCoefficients.compute(scheduler, numInferenceSteps, next.tIndexList());
        StreamBatch previous = streamBatch;
        StreamBatch batch = new StreamBatch(models.unet(), next, coefficients, globalGenerator);
        batch.setControlNets(controlNets);
        config = next;
        batch.setConditioning(guidance, conditioning());
        if (next.steps() == previous.coefficients().steps()) {
            batch.reset(previous.initNoise());
            batch.restoreState(previous.stockNoise(), previous.latentBuffer());
            batch.continueControlFrom(previous);
        } else {
            generator.manualSeed(seed);
            batch.reset(drawInitNoise());
            streamFresh = true;
        }
        unetCallsOfReplacedBatches += previous.unetCalls();
        unetRowsOfReplacedBatches += previous.unetRows();
        previous.close();
        streamBatch = batch;
    }

    /**
     * Changes the seed: the fixed noise is drawn again and the stock noise restarts at zero (as
     * the livepeer fork's update_stream_params); the latent buffer keeps the stream's content.
     */
    public void updateSeed(long newSeed) {
        updateSeedBlend(SeedBlend.of(newSeed));
    }

    /**
     * Changes the seeds whose noise is blended into the fixed noise (see {@link Blending#noise}),
     * as {@link #updateSeed}; the first weighted seed becomes the stream's seed.
     */
    public void updateSeedBlend(SeedBlend blend) {
        requirePrepared();
        // any 64 bits: a negative long is a seed of 2^63 or more (see TorchSeed), as torch.manual_seed takes it
        long newSeed = blend.primarySeed();
        seedBlend = blend;
        seed = newSeed;
        config = config.toBuilder().seed(newSeed).build();
        generator.manualSeed(newSeed);
        globalGenerator.manualSeed(newSeed);
        FloatTensor buffer = streamBatch.latentBuffer();
        FloatTensor noise = drawInitNoise();
        streamBatch.reset(noise);
        if (buffer != null) streamBatch.restoreState(FloatTensor.zeros(noise.shape()), buffer);
    }

    /**
     * Changes the conditioning scale of ControlNet {@code index} (0-based, in the order given to
     * the builder) from the next frame on; 0 turns it off (it is then not run) without unloading it.
     */
    public void updateControlNetScale(int index, double scale) {
        if (controlNets == null) throw new IllegalStateException("this stream has no ControlNet");
        controlNets.setScale(index, scale);
    }

    /** The ControlNets' scales, in the builder's order (empty without any). */
    public double[] controlNetScales() {
        return controlNets == null ? new double[0] : controlNets.scales();
    }

    /** The stream's ControlNets, or null without any. */
    public ControlNets controlNets() {
        return controlNets;
    }

    /** What turns input frames into control images (used when a call brings no control images). */
    public ControlPreprocessor controlPreprocessor() {
        return controlPreprocessor;
    }

    /**
     * The control images of frames (any size; resized to the stream's as the model input is),
     * for {@link #img2imgInto(FloatTensor, FloatTensor, FloatTensor)}: the real-time engine makes
     * them on its input thread. Null without ControlNets.
     */
    public FloatTensor controlImages(List<RgbImage> frames) {
        if (controlNets == null) return null;
        return ControlImages.of(frames.stream().map(preprocessor::fit).toList(), controlPreprocessor);
    }

    /** Turns the similarity filter on (with a threshold and max skip) or off. */
    public void updateSimilarityFilter(SimilarityFilterSettings settings) {
        config = config.toBuilder().similarFilter(settings).build();
        similarityFilter = settings.enabled()
                ? new SimilarityFilter(settings, replayedDraws != null ? replayedDraws : new PythonRandom(seed))
                : null;
    }

    /**
     * The fixed noise: drawn from the seeded generator (which goes on to draw the VAE posterior
     * samples), blended with the other seeds' draws when there are several.
     */
    private FloatTensor drawInitNoise() {
        int[] shape = {config.batchSize(), models.unet().latentChannels(), config.latentHeight(), config.latentWidth()};
        FloatTensor first = generator.randn(shape);
        List<WeightedSeed> entries = seedBlend.effective();
        if (entries.size() == 1) return first;
        List<FloatTensor> draws = new java.util.ArrayList<>();
        draws.add(first);
        for (WeightedSeed s : entries.subList(1, entries.size())) draws.add(new TorchGenerator(s.seed()).randn(shape));
        return Blending.noise(draws, entries.stream().mapToDouble(WeightedSeed::weight).toArray());
    }

    /**
     * Warm start: fills the latent buffer as if the first frame had already been in the stream,
     * each buffer row noised to its timestep ({@code sqrt(a_i) z + sqrt(1 - a_i) N_i}), so the first
     * n - 1 outputs show the picture instead of the empty buffer's brown frames.
     */
    private void fillBufferFrom(FloatTensor latents) {
        FloatTensor buffer = streamBatch.latentBuffer();
        if (buffer == null) return;
        LcmCoefficients c = streamBatch.coefficients();
        FloatTensor noise = streamBatch.initNoise();
        int f = config.frameBufferSize();
        int rs = latents.rowSize();
        float[] b = buffer.data();
        for (int r = 0; r < buffer.rows(); r++) {
            int step = r / f + 1;
            int frame = r % f;
            float a = c.alphaProdSqrt()[step];
            float s = c.betaProdSqrt()[step];
            for (int i = 0; i < rs; i++) {
                b[r * rs + i] = a * latents.data()[frame * rs + i] + s * noise.data()[(r + f) * rs + i];
            }
        }
        streamBatch.restoreState(streamBatch.stockNoise(), buffer);
    }

    private FloatTensor conditioning() {
        FloatTensor positive = currentPositive();
        FloatTensor negative = guidance.hasNegativeRows() ? prompts.encodeNegative(negativePrompt) : null;
        FloatTensor rows = PromptEncoder.conditioning(positive, negative, guidance, config.batchSize(), config.frameBufferSize());
        return ipAdapter == null ? rows : ipAdapter.extend(rows, config.batchSize());
    }

    /** Changes the IP-Adapter's style image at the next frame (encoded once here); null removes it. */
    public void updateStyleImage(RgbImage image) {
        requireIpAdapter().setImage(image);
        if (streamBatch != null) streamBatch.setConditioning(guidance, conditioning());
    }

    /**
     * Changes the style image at the next frame to one already encoded by this stream's
     * {@link #imageEncoder} (null removes it): the encoding can then run off the stream's thread.
     */
    public void updateStyleTokens(FloatTensor tokens) {
        requireIpAdapter().setTokens(tokens);
        if (streamBatch != null) streamBatch.setConditioning(guidance, conditioning());
    }

    /** Changes the IP-Adapter's scale at the next frame (0: the plain stream's output). */
    public void updateIpAdapterScale(double scale) {
        requireIpAdapter().setScale(scale);
        if (streamBatch != null) streamBatch.setConditioning(guidance, conditioning());
    }

    /** The IP-Adapter's scale, or NaN without an adapter. */
    public double ipAdapterScale() {
        return ipAdapter == null ? Double.NaN : ipAdapter.scale();
    }

    public boolean hasIpAdapter() {
        return ipAdapter != null;
    }

    /**
     * The IP-Adapter's image encoder (null without one), for streams built on these models with
     * {@link Builder#imageEncoder} (the web server's sessions share it); it stays this stream's to close.
     */
    public ImageEncoder imageEncoder() {
        return ipAdapter == null ? null : ipAdapter.encoder();
    }

    private IpAdapterStyle requireIpAdapter() {
        if (ipAdapter == null) throw new IllegalStateException("this stream has no IP-Adapter (set one when building it)");
        return ipAdapter;
    }

    /**
     * One img2img step for {@code frame_buffer_size} frames given as RGB images of any size
     * (resized like the original). Returns the generated images: f of them, or, when the
     * similarity filter skips the frames, the previous output again.
     */
    public List<RgbImage> img2img(List<RgbImage> frames) {
        FloatTensor images = preprocessor.toTensor(frames);
        FloatTensor out = FloatTensor.zeros(config.frameBufferSize(), 3, config.height(), config.width());
        img2imgInto(images, controlImages(frames), out);
        return ImagePostprocessor.toRgbImages(out);
    }

    /**
     * One img2img step on a preprocessed batch (f, 3, H, W) in [-1, 1]. Returns the decoder
     * output (rows, 3, H, W), not clamped, as the original's {@code __call__}.
     */
    public FloatTensor img2img(FloatTensor images) {
        FloatTensor out = FloatTensor.zeros(config.frameBufferSize(), 3, config.height(), config.width());
        img2imgInto(images, out);
        return out;
    }

    /**
     * {@link #img2img(FloatTensor)} written into {@code out} (f, 3, H, W). Every working array of
     * the stream is allocated once and reused, so a steady stream allocates nothing per frame on
     * this path (the real-time engine recycles its output tensors).
     */
    public void img2imgInto(FloatTensor images, FloatTensor out) {
        FloatTensor control = null;
        if (controlNets != null) {
            List<RgbImage> frames = new java.util.ArrayList<>();
            for (int r = 0; r < images.rows(); r++) frames.add(ControlImages.frameOf(images, r));
            control = ControlImages.of(frames, controlPreprocessor);
        }
        img2imgInto(images, control, out);
    }

    /**
     * {@link #img2imgInto(FloatTensor, FloatTensor)} with the frames' control images (f, 3, H, W)
     * in [0, 1] made beforehand (see {@link #controlImages}); ignored without ControlNets.
     */
    public void img2imgInto(FloatTensor images, FloatTensor controlImages, FloatTensor out) {
        requirePrepared();
        if (controlNets != null) {
            if (controlImages == null || !controlImages.hasShape(new int[] {config.frameBufferSize(), 3, config.height(), config.width()})) {
                throw new IllegalArgumentException("a stream with ControlNets needs " + config.frameBufferSize() + " control image(s) of 3x"
                        + config.height() + "x" + config.width() + ", found " + controlImages);
            }
        }
        if (mode != Mode.IMG2IMG) throw new IllegalStateException("this stream was built for " + mode + ", not img2img");
        int f = config.frameBufferSize();
        if (images.rank() != 4 || images.dim(0) != f || images.dim(1) != 3
                || images.dim(2) != config.height() || images.dim(3) != config.width()) {
            throw new IllegalArgumentException("img2img expects " + f + " frame(s) of 3x" + config.height() + "x"
                    + config.width() + ", found " + images);
        }
        FrameBuffers b = buffers();
        if (out.size() != b.output.size()) {
            throw new IllegalArgumentException("img2img writes " + b.output + ", the output tensor is " + out);
        }
        if (similarityFilter != null && similarityFilter.shouldSkip(images) && hasOutput) {
            lastSkipped = true;
            System.arraycopy(b.output.data(), 0, out.data(), 0, out.size());
            return;
        }
        lastSkipped = false;
        advanceTransition();
        if (controlNets != null) streamBatch.setControlImages(controlImages);
        long t0 = System.nanoTime();
        encodeInto(images, b);
        if (warmStart && streamFresh) fillBufferFrom(b.latents);
        streamFresh = false;
        long t1 = System.nanoTime();
        streamBatch.addInputNoiseInPlace(b.latents.data());
        // The original's img2img latents are channels-last (the preprocessed image is a transposed
        // NHWC array, which the VAE keeps): it matters for the sequential loop's fresh noise.
        streamBatch.denoiseInto(b.latents, MemoryFormat.CHANNELS_LAST, b.x0.data());
        long t2 = System.nanoTime();
        decodeInto(b.x0, b);
        long t3 = System.nanoTime();
        hasOutput = true;
        encodeNanos = t1 - t0;
        denoiseNanos = t2 - t1;
        decodeNanos = t3 - t2;
        System.arraycopy(b.output.data(), 0, out.data(), 0, out.size());
    }

    /** The arrays one img2img call works in, made once per stream (f frames never change). */
    private record FrameBuffers(FloatTensor latents, float[] std, float[] noise, FloatTensor x0, FloatTensor decoderInput,
                                FloatTensor output) {}

    private FrameBuffers buffers() {
        if (frameBuffers == null) {
            int f = config.frameBufferSize();
            int c = models.unet().latentChannels();
            int[] latent = {f, c, config.latentHeight(), config.latentWidth()};
            int n = Math.toIntExact(FloatTensor.numel(latent));
            frameBuffers = new FrameBuffers(FloatTensor.zeros(latent), new float[n], new float[n], FloatTensor.zeros(latent),
                    FloatTensor.zeros(latent), FloatTensor.zeros(f, 3, config.height(), config.width()));
        }
        return frameBuffers;
    }

    /**
     * {@code encode_image} up to the scaled latents, into {@code b.latents}: VAE encode, for a
     * variational VAE the posterior sample {@code mean + std * randn(G)}, then the scaling factor.
     */
    private void encodeInto(FloatTensor images, FrameBuffers b) {
        Vae vae = models.vae();
        float[] z = b.latents.data();
        if (vae.encoder().encodeInto(images, z, b.std)) {
            generator.fillNormal(b.noise);
            for (int i = 0; i < z.length; i++) z[i] = z[i] + b.std[i] * b.noise[i];
        }
        float scale = vae.scalingFactor();
        for (int i = 0; i < z.length; i++) z[i] = z[i] * scale;
    }

    /** {@code decode_image} into {@code b.output}: latents / scaling_factor through the VAE decoder. */
    private void decodeInto(FloatTensor latents, FrameBuffers b) {
        float scale = models.vae().scalingFactor();
        float[] d = latents.data();
        float[] z = b.decoderInput.data();
        for (int i = 0; i < z.length; i++) z[i] = d[i] / scale;
        models.vae().decoder().decodeInto(b.decoderInput, b.output.data());
    }

    /** Nanoseconds the last generating call spent in each model stage (encode is 0 for txt2img). */
    public record StageTimes(long encodeNanos, long denoiseNanos, long decodeNanos) {
        public long totalNanos() {
            return encodeNanos + denoiseNanos + decodeNanos;
        }
    }

    /** Stage times of the last call that ran the models (a skipped frame leaves them unchanged). */
    public StageTimes lastStageTimes() {
        return new StageTimes(encodeNanos, denoiseNanos, decodeNanos);
    }

    /**
     * One txt2img step through the stream batch ({@code txt2img}): fresh noise enters as the
     * new frame at the first timestep; returns f images once the batch is full.
     */
    public FloatTensor txt2img() {
        requirePrepared();
        advanceTransition();
        FloatTensor x = globalGenerator.randn(config.frameBufferSize(), models.unet().latentChannels(),
                config.latentHeight(), config.latentWidth());
        long t1 = System.nanoTime();
        FloatTensor x0 = streamBatch.denoise(x);
        long t2 = System.nanoTime();
        FloatTensor out = decode(x0);
        encodeNanos = 0;
        denoiseNanos = t2 - t1;
        decodeNanos = System.nanoTime() - t2;
        return out;
    }

    /**
     * The sd-turbo one-step path ({@code txt2img_sd_turbo}): one image per batch row straight
     * from noise, x0 = (x - sqrt(1-a) eps) / sqrt(a), no buffer and no guidance.
     */
    public FloatTensor txt2imgSdTurbo() {
        requirePrepared();
        advanceTransition();
        FloatTensor x = globalGenerator.randn(config.batchSize(), models.unet().latentChannels(),
                config.latentHeight(), config.latentWidth());
        long t1 = System.nanoTime();
        FloatTensor x0 = streamBatch.oneStep(x);
        long t2 = System.nanoTime();
        FloatTensor out = decode(x0);
        encodeNanos = 0;
        denoiseNanos = t2 - t1;
        decodeNanos = System.nanoTime() - t2;
        return out;
    }

    /** {@code decode_image}: latents / scaling_factor through the VAE decoder. */
    FloatTensor decode(FloatTensor latents) {
        float scale = models.vae().scalingFactor();
        float[] d = latents.data();
        float[] z = new float[d.length];
        for (int i = 0; i < z.length; i++) z[i] = d[i] / scale;
        return models.vae().decoder().decode(new FloatTensor(z, latents.shape()));
    }

    private void requirePrepared() {
        if (streamBatch == null) throw new IllegalStateException("call prepare() first");
    }

    public StreamConfig config() {
        return config;
    }

    public Mode mode() {
        return mode;
    }

    /** The seed in use (a random one was chosen if the configured seed was negative). */
    public long seed() {
        return seed;
    }

    public String prompt() {
        return prompt;
    }

    /** The prompt blend in use (a single prompt is a one-entry blend). */
    public PromptBlend promptBlend() {
        return promptBlend;
    }

    /** The seed blend of the fixed noise (a single seed is a one-entry blend). */
    public SeedBlend seedBlend() {
        return seedBlend;
    }

    public int promptTransitionFrames() {
        return promptTransitionFrames;
    }

    /** The positive embedding the next UNet call is conditioned on (mid-transition: the current step). */
    public FloatTensor conditioningEmbedding() {
        return currentPositive();
    }

    public String negativePrompt() {
        return negativePrompt;
    }

    public int numInferenceSteps() {
        return numInferenceSteps;
    }

    public Guidance guidance() {
        return guidance;
    }

    /** UNet calls since the stream was built (across live t_index_list changes). */
    public long unetCalls() {
        return unetCallsOfReplacedBatches + (streamBatch == null ? 0 : streamBatch.unetCalls());
    }

    /** Batch rows of all UNet calls since the stream was built (rows per call: this over {@link #unetCalls()}). */
    public long unetRows() {
        return unetRowsOfReplacedBatches + (streamBatch == null ? 0 : streamBatch.unetRows());
    }

    /** Whether the last img2img call was skipped by the similarity filter. */
    public boolean lastFrameSkipped() {
        return lastSkipped;
    }

    public SimilarityFilter.Decision lastFilterDecision() {
        return similarityFilter == null ? null : similarityFilter.lastDecision();
    }

    /** The stream's state, for inspection and tests. */
    public StreamBatch streamBatch() {
        return streamBatch;
    }

    public PromptEncoder prompts() {
        return prompts;
    }

    public ImagePreprocessor preprocessor() {
        return preprocessor;
    }

    public StableDiffusionModels models() {
        return models;
    }

    @Override
    public void close() {
        if (streamBatch != null) streamBatch.close();
        if (controlNets != null) controlNets.close();
        if (ownsControlPreprocessor) controlPreprocessor.close();
        if (ipAdapter != null) ipAdapter.close();
        if (ownsModels) models.close();
    }

    /**
     * Builds a stream. Either give ready models ({@link #models}) or model folders
     * ({@link #model}, {@link #taesd}); folders are loaded with ONNX Runtime and closed with the stream.
     */
    public static final class Builder {
        private final StreamConfig.Builder config = StreamConfig.builder();
        private Mode mode = Mode.IMG2IMG;
        private StableDiffusionModels models;
        private Path modelDir;
        private Path taesdDir;
        private boolean useTinyVae = true;
        private UniformSource similarityDraws;
        private boolean warmStart;
        private SeedBlend seedBlend;
        private int promptTransitionFrames;
        private OnnxModelLoader.Options onnxOptions = OnnxModelLoader.Options.defaults();
        private final List<ControlNet> controlNetModels = new java.util.ArrayList<>();
        private final List<Path> controlNetFiles = new java.util.ArrayList<>();
        private final List<Double> controlNetScales = new java.util.ArrayList<>();
        private Path unetWithControl;
        private ControlPreprocessor controlPreprocessor = new Passthrough();
        private boolean ownsControlPreprocessor;

        /**
         * Adds a loaded ControlNet with its conditioning scale (not closed with the stream). Give
         * either loaded ControlNets (with {@link #models}) or files (with {@link #model}), not both.
         */
        public Builder controlNet(ControlNet net, double scale) {
            controlNetModels.add(Objects.requireNonNull(net, "net"));
            controlNetScales.add(LiveSettingsLimits.CONTROLNET_SCALE.check(scale));
            return this;
        }

        /**
         * Adds a ControlNet ONNX graph (a model.onnx, or a folder holding one) with its
         * conditioning scale; loaded with the stream's ONNX Runtime options and closed with it.
         */
        public Builder controlNet(Path file, double scale) {
            controlNetFiles.add(Objects.requireNonNull(file, "file"));
            controlNetScales.add(LiveSettingsLimits.CONTROLNET_SCALE.check(scale));
            return this;
        }

        /**
         * The UNet graph with ControlNet residual inputs to load instead of the model folder's
         * {@code unet/model.onnx} (needed with ControlNet files unless that UNet has them). With
         * an IP-Adapter too, it must be the adapter's UNet with residual inputs
         * ({@code ModelStore.unetWithControl(variant.unet().getParent(), ...)}), which takes both.
         */
        public Builder unetWithControl(Path file) {
            unetWithControl = file;
            return this;
        }

        /** What makes control images from frames when a call brings none (default: passthrough, {@code none}). */
        public Builder controlPreprocessor(ControlPreprocessor v) {
            return controlPreprocessor(v, false);
        }

        /** {@link #controlPreprocessor(ControlPreprocessor)}, closed with the stream when {@code closeWithStream} (a depth model's session). */
        public Builder controlPreprocessor(ControlPreprocessor v, boolean closeWithStream) {
            controlPreprocessor = Objects.requireNonNull(v, "controlPreprocessor");
            ownsControlPreprocessor = closeWithStream;
            return this;
        }

        private IpAdapterStore.Variant ipAdapter;
        private ImageEncoder imageEncoder;
        private double ipAdapterScale = 1.0;
        private RgbImage styleImage;

        /** An IP-Adapter made ready for this model ({@link IpAdapterStore#prepare}), at this scale. */
        public Builder ipAdapter(IpAdapterStore.Variant v, double scale) {
            ipAdapter = v;
            ipAdapterScale = scale;
            return this;
        }

        /** With ready {@link #models}: the IP-Adapter's image side (the UNet must be the adapter's). Closed with the stream. */
        public Builder imageEncoder(ImageEncoder v, double scale) {
            imageEncoder = v;
            ipAdapterScale = scale;
            return this;
        }

        /** The style image the IP-Adapter starts with (none: the plain stream until one is set). */
        public Builder styleImage(RgbImage v) {
            styleImage = v;
            return this;
        }

        public Builder models(StableDiffusionModels v) {
            models = v;
            return this;
        }

        /** A model folder in Hugging Face Optimum's ONNX layout. */
        public Builder model(Path v) {
            modelDir = v;
            return this;
        }

        /** A TAESD folder (vae_encoder/, vae_decoder/); used when {@code use_tiny_vae} is on. */
        public Builder taesd(Path v) {
            taesdDir = v;
            return this;
        }

        public Builder useTinyVae(boolean v) {
            useTinyVae = v;
            return this;
        }

        public Builder onnxOptions(OnnxModelLoader.Options v) {
            onnxOptions = v;
            return this;
        }

        public Builder mode(Mode v) {
            mode = v;
            return this;
        }

        public Builder config(StreamConfig v) {
            config.tIndexList(v.tIndexList()).size(v.width(), v.height()).frameBufferSize(v.frameBufferSize())
                    .doAddNoise(v.doAddNoise()).useDenoisingBatch(v.useDenoisingBatch()).cfgType(v.cfgType())
                    .seed(v.seed()).similarFilter(v.similarFilter());
            return this;
        }

        public Builder tIndexList(int... v) {
            config.tIndexList(v);
            return this;
        }

        public Builder size(int width, int height) {
            config.size(width, height);
            return this;
        }

        public Builder frameBufferSize(int v) {
            config.frameBufferSize(v);
            return this;
        }

        public Builder doAddNoise(boolean v) {
            config.doAddNoise(v);
            return this;
        }

        public Builder useDenoisingBatch(boolean v) {
            config.useDenoisingBatch(v);
            return this;
        }

        public Builder cfgType(CfgType v) {
            config.cfgType(v);
            return this;
        }

        public Builder seed(long v) {
            config.seed(v);
            seedBlend = null;
            return this;
        }

        /** Blends the fixed noise of several seeds; the first weighted seed is the stream's seed. */
        public Builder seedBlend(SeedBlend v) {
            seedBlend = v;
            config.seed(v.primarySeed());
            return this;
        }

        /** Spreads live prompt changes over this many frames (0, the default: at once). */
        public Builder promptTransitionFrames(int v) {
            promptTransitionFrames = LiveSettingsLimits.checkTransitionFrames(v);
            return this;
        }

        public Builder similarImageFilter(double threshold, int maxSkipFrame) {
            config.similarImageFilter(threshold, maxSkipFrame);
            return this;
        }

        /**
         * Fills the latent buffer from the first frame instead of zeros, so the first n - 1
         * outputs are not the original's brown frames (off by default, for parity).
         */
        public Builder warmStart(boolean v) {
            warmStart = v;
            return this;
        }

        /** Replays recorded similarity-filter draws instead of drawing from the seeded source. */
        public Builder similarityDraws(UniformSource v) {
            similarityDraws = v;
            return this;
        }

        public StreamDiffusion build() throws IOException {
            config.build(); // validate before loading anything
            boolean control = !controlNetModels.isEmpty() || !controlNetFiles.isEmpty();
            if (control && mode != Mode.IMG2IMG) {
                throw new IllegalStateException("ControlNet works in img2img only (its control images come from the input frames)");
            }
            if (!controlNetModels.isEmpty() && !controlNetFiles.isEmpty()) {
                throw new IllegalStateException("give loaded ControlNets or ControlNet files, not both");
            }
            if (controlNetScales.size() > LiveSettingsLimits.MAX_CONTROLNETS) {
                throw new IllegalStateException("at most " + LiveSettingsLimits.MAX_CONTROLNETS + " ControlNets, found "
                        + controlNetScales.size());
            }
            double[] scales = controlNetScales.stream().mapToDouble(Double::doubleValue).toArray();
            if (models != null) {
                if (!controlNetFiles.isEmpty()) throw new IllegalStateException("ControlNet files need model folders; give loaded ControlNets");
                return new StreamDiffusion(this, models, false,
                        controlNetModels.isEmpty() ? null : new ControlNets(controlNetModels, scales, false));
            }
            if (modelDir == null) throw new IllegalStateException("no model: call model(path) or models(...)");
            if (useTinyVae && taesdDir == null) {
                throw new IllegalStateException("use_tiny_vae is on but no TAESD folder was given (taesd(path)),"
                        + " or turn use_tiny_vae off to use the model's own VAE");
            }
            if (control && ipAdapter != null && unetWithControl == null) {
                // the adapter's UNet with residual inputs: ModelStore.unetWithControl(variant.unet().getParent())
                throw new IllegalStateException("ControlNets with an IP-Adapter need the adapter's UNet made with ControlNet"
                        + " residual inputs (unetWithControl(...)); the model's and the adapter's UNets each lack one half");
            }
            if (ipAdapter != null && onnxOptions.staticShapes() != null) {
                throw new IllegalStateException("an IP-Adapter needs dynamic shapes (its UNet takes longer embeddings);"
                        + " turn static shapes off");
            }
            Path unetFile = control ? unetWithControl : ipAdapter != null ? ipAdapter.unet().resolve("model.onnx") : null;
            StableDiffusionModels loaded = OnnxModelLoader.load(modelDir, useTinyVae ? taesdDir : null, onnxOptions, unetFile);
            List<ControlNet> nets = new java.util.ArrayList<>();
            try {
                for (Path f : controlNetFiles) nets.add(OnnxModelLoader.loadControlNet(f, onnxOptions));
                if (ipAdapter != null) imageEncoder = OrtImageEncoder.open(ipAdapter.imageEncoder());
                return new StreamDiffusion(this, loaded, true, nets.isEmpty() ? null : new ControlNets(nets, scales, true));
            } catch (IOException | RuntimeException e) {
                for (ControlNet n : nets) n.close();
                if (imageEncoder != null) imageEncoder.close();
                loaded.close();
                throw e;
            }
        }
    }
}
