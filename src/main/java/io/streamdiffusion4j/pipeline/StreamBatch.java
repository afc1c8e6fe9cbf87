package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.random.MemoryFormat;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * The denoising core of StreamDiffusion: Stream Batch with residual classifier-free guidance.
 *
 * <p>With n steps and f frames per call, the UNet batch holds n x f rows, step-major: rows
 * [0, f) are the frames entering now at timestep t_0, rows [i f, (i+1) f) are the frames that
 * entered i calls ago, now at t_i. After each call the denoised estimates of rows [0, (n-1) f)
 * are re-noised to the next timestep with the fixed noise and become the latent buffer
 * (rows [f, n f) of the next call); the last f rows leave as output. So every call advances
 * every frame by one step, for the price of one UNet call.
 *
 * <p>Residual CFG keeps a "stock noise" per row: the residual noise a row is expected to carry,
 * used as the negative prediction instead of a second UNet pass (cfg self), optionally seeded
 * by one real negative prediction for the new frame (cfg initialize).
 *
 * <p>ControlNet ({@link #setControlNets}): every row is denoised under the control image of the
 * frame it came from. The control images travel with their rows in a ring laid out like the
 * batch (rows [i f, (i+1) f) hold the control images of the frames that entered i calls ago),
 * shifted down by f rows per call as the latents are. Why not the newest frame's control image
 * for every row: a buffered row's latent is the picture of an older frame, so the newest frame's
 * edges or depth would pull it towards a different picture, and each output frame would be
 * denoised under n different control images (ghosts of the motion between them). With the
 * rows' own images each output frame is denoised under its own control image at every step,
 * exactly as the loop without Stream Batch (and diffusers' ControlNet pipelines) do; the cost is
 * (n - 1) f stored control images. The first call fills the whole ring with its frames' images
 * (the empty buffer's rows have no frame of their own). Negative rows of cfg full and initialize
 * take the control image of the row they mirror, as diffusers repeats the image for its
 * unconditional half. See docs/CONTROLNET.md.
 *
 * <p>Follows the original {@code StreamDiffusion.predict_x0_batch}/{@code unet_step}/
 * {@code scheduler_step_batch} line by line in float32; where it only works for f = 1 it is
 * generalised to f-row blocks (see docs/PARITY.md).
 */
public final class StreamBatch implements AutoCloseable {
    private final Unet unet;
    private final int steps;
    private final int frames;
    private final boolean denoisingBatch;
    private final boolean doAddNoise;
    private final LcmCoefficients coefficients;
    private final TorchGenerator globalGenerator;
    private final int latentRowSize;
    /** Denoising rows per call: n x f with Stream Batch, f without. */
    private final int rows;

    // Per-row coefficients of the stream batch (step-major, each step repeated for f frames).
    private final float[] rowAlpha;
    private final float[] rowBeta;
    private final float[] rowCSkip;
    private final float[] rowCOut;
    private final long[] rowTimesteps;

    // Working arrays, allocated once and reused every frame, so a steady stream allocates only
    // its small output. Every value is computed with the same float32 operations in the same
    // order as before, so the numbers are bit for bit those of the original recurrences.
    private final FloatTensor batch;       // the denoising rows: new frames, then the latent buffer
    private final float[] eps;             // guided noise prediction per denoising row
    private final float[] denoised;        // x0 estimates per denoising row
    private final float[] scaled;          // stock-noise update scratch
    private final float[] stepped;         // stock-noise update scratch
    private final long[] sequentialTimesteps;
    private FloatTensor unetInput;         // batch with the negative rows in front (cfg full / initialize)
    private long[] unetTimesteps;
    private float[] unetOutput;            // the UNet's raw prediction, guidance rows included

    private Guidance guidance;
    private FloatTensor encoderHiddenStates;
    // The UNet's prepared conditioning per step of the loop (one for Stream Batch, whose rows hold
    // every step): made at the first call after the prompt or guidance changes, kept until the next change.
    private final Unet.Conditioning[] prepared;
    private FloatTensor initNoise;
    private FloatTensor stockNoise;
    private FloatTensor latentBuffer;
    private long unetCalls;
    private long unetRows;

    // ControlNet (null: none, the plain path, unchanged).
    private ControlNets control;
    private FloatTensor controlRows;       // one control image per denoising row, laid out like the batch
    private FloatTensor controlInput;      // controlRows with the negative rows in front
    private FloatTensor pendingControl;    // the control images of the f frames of the next call
    private boolean controlFresh = true;   // the ring holds no frame's images yet

    /**
     * @param globalGenerator the generator of fresh noise in the sequential loop
     *     ({@code torch.randn_like} in the original)
     */
    public StreamBatch(Unet unet, StreamConfig config, LcmCoefficients coefficients, TorchGenerator globalGenerator) {
        this.unet = unet;
        this.steps = config.steps();
        this.frames = config.frameBufferSize();
        this.denoisingBatch = config.useDenoisingBatch();
        this.doAddNoise = config.doAddNoise();
        this.coefficients = coefficients;
        this.globalGenerator = globalGenerator;
        this.latentRowSize = unet.latentChannels() * config.latentHeight() * config.latentWidth();
        this.rows = denoisingBatch ? steps * frames : frames;
        rowAlpha = new float[rows];
        rowBeta = new float[rows];
        rowCSkip = new float[rows];
        rowCOut = new float[rows];
        rowTimesteps = new long[rows];
        if (denoisingBatch) {
            for (int r = 0; r < rows; r++) setRow(r, r / frames);
        }
        batch = FloatTensor.zeros(rows, unet.latentChannels(), config.latentHeight(), config.latentWidth());
        eps = new float[rows * latentRowSize];
        denoised = new float[rows * latentRowSize];
        scaled = new float[rows * latentRowSize];
        stepped = new float[rows * latentRowSize];
        sequentialTimesteps = new long[frames];
        prepared = new Unet.Conditioning[denoisingBatch ? 1 : steps];
    }

    /**
     * Rows of every UNet call of a stream: the denoising rows, plus a negative row per denoising
     * row for cfg full, or per new frame for cfg initialize, when guidance is active.
     */
    public static int unetRows(StreamConfig config, Guidance guidance) {
        int denoising = config.batchSize();
        if (!guidance.hasNegativeRows()) return denoising;
        return guidance.type() == CfgType.FULL ? 2 * denoising : denoising + config.frameBufferSize();
    }

    private void setRow(int row, int step) {
        rowAlpha[row] = coefficients.alphaProdSqrt()[step];
        rowBeta[row] = coefficients.betaProdSqrt()[step];
        rowCSkip[row] = coefficients.cSkip()[step];
        rowCOut[row] = coefficients.cOut()[step];
        rowTimesteps[row] = coefficients.timesteps()[step];
    }

    /**
     * Resets the stream: the fixed noise, zero stock noise and a zero latent buffer (the
     * original's {@code prepare}; the first n - 1 outputs therefore come from the empty buffer).
     */
    public void reset(FloatTensor initNoise) {
        this.initNoise = initNoise.copy();
        this.stockNoise = FloatTensor.zeros(initNoise.shape());
        this.latentBuffer = denoisingBatch && steps > 1
                ? FloatTensor.zeros(initNoise.shapeWithRows((steps - 1) * frames))
                : null;
    }

    /**
     * Sets the stream state directly (live control: keeping a stream's state across a change of
     * coefficients, or a warm start). Shapes must match this stream's.
     */
    public void restoreState(FloatTensor stockNoise, FloatTensor latentBuffer) {
        if (this.stockNoise == null) throw new IllegalStateException("call reset() first");
        if (stockNoise.size() != this.stockNoise.size()) {
            throw new IllegalArgumentException("stock noise " + stockNoise + " does not fit " + this.stockNoise);
        }
        if ((latentBuffer == null) != (this.latentBuffer == null)
                || (latentBuffer != null && latentBuffer.size() != this.latentBuffer.size())) {
            throw new IllegalArgumentException("latent buffer " + latentBuffer + " does not fit " + this.latentBuffer);
        }
        this.stockNoise = stockNoise.copy();
        this.latentBuffer = latentBuffer == null ? null : latentBuffer.copy();
    }

    /** Sets the guidance and the UNet's {@code encoder_hidden_states} (already laid out per row). */
    public void setConditioning(Guidance guidance, FloatTensor encoderHiddenStates) {
        this.guidance = guidance;
        this.encoderHiddenStates = encoderHiddenStates;
        releasePrepared();
    }

    /**
     * The UNet's conditioning for a call on {@code input} at {@code t} in loop step {@code slot}:
     * the one prepared before while the prompt, guidance rows and timesteps stay the same, else
     * prepared now (the paper's pre-computation, redone at the first frame after a change).
     */
    private Unet.Conditioning conditioningFor(int slot, FloatTensor input, long[] t) {
        Unet.Conditioning c = prepared[slot];
        if (c != null && c.fits(t, input)) return c;
        if (c != null) c.close();
        prepared[slot] = null;
        prepared[slot] = unet.prepare(input.shape(), t, encoderHiddenStates);
        return prepared[slot];
    }

    private void releasePrepared() {
        for (int i = 0; i < prepared.length; i++) {
            if (prepared[i] != null) prepared[i].close();
            prepared[i] = null;
        }
    }

    /**
     * Runs these ControlNets at every UNet call (null: none). The UNet must take residuals
     * ({@link Unet#acceptsResiduals()}), and every call needs the control images of its frames
     * ({@link #setControlImages}).
     */
    public void setControlNets(ControlNets controlNets) {
        if (controlNets != null && !unet.acceptsResiduals()) {
            throw new IllegalArgumentException("a ControlNet needs a UNet with residual inputs; " + unet + " has none");
        }
        this.control = controlNets;
    }

    /** The control images (f, 3, H, W) in [0, 1] of the frames the next call takes in. */
    public void setControlImages(FloatTensor images) {
        if (images.rank() != 4 || images.rows() != frames || images.dim(1) != 3) {
            throw new IllegalArgumentException("expected " + frames + " control image(s) of 3 channels, found " + images);
        }
        pendingControl = images;
    }

    /**
     * Continues another stream's control-image ring (a live t_index_list change that keeps the
     * latent buffer keeps the rows' control images with it).
     */
    public void continueControlFrom(StreamBatch previous) {
        if (previous.controlRows != null && previous.rows == rows && !previous.controlFresh) {
            controlRows = previous.controlRows.copy();
            controlFresh = false;
        }
    }

    /** A copy of the control image of each denoising row (null before the first ControlNet call). */
    public FloatTensor controlRows() {
        return controlRows == null ? null : controlRows.copy();
    }

    /** Takes in the next frames' control images: the ring moves down f rows and they enter at the top. */
    private void advanceControlRows() {
        if (pendingControl == null) {
            throw new IllegalStateException("a stream with ControlNets needs the control images of every frame (setControlImages)");
        }
        int cs = pendingControl.rowSize();
        if (controlRows == null || controlRows.rowSize() != cs) {
            controlRows = FloatTensor.zeros(pendingControl.shapeWithRows(rows));
            controlFresh = true;
        }
        float[] c = controlRows.data();
        float[] in = pendingControl.data();
        if (controlFresh) {
            for (int block = 0; block < rows / frames; block++) System.arraycopy(in, 0, c, block * frames * cs, frames * cs);
            controlFresh = false;
        } else {
            System.arraycopy(c, 0, c, frames * cs, (rows - frames) * cs);
            System.arraycopy(in, 0, c, 0, frames * cs);
        }
        pendingControl = null;
    }

    /** The control images of a UNet call's rows: the ring, with the mirrored rows' images in front of it for negative rows. */
    private FloatTensor controlImagesFor(int negative) {
        if (negative == 0) return controlRows;
        int cs = controlRows.rowSize();
        if (controlInput == null || controlInput.rows() != rows + negative || controlInput.rowSize() != cs) {
            controlInput = FloatTensor.zeros(controlRows.shapeWithRows(rows + negative));
        }
        float[] c = controlRows.data();
        float[] in = controlInput.data();
        System.arraycopy(c, 0, in, 0, negative * cs);
        System.arraycopy(c, 0, in, negative * cs, rows * cs);
        return controlInput;
    }

    /** Frees what the UNet prepared for this stream (native memory with a pre-computing UNet). */
    @Override
    public void close() {
        releasePrepared();
    }

    /**
     * {@code add_noise(latents, init_noise[0], 0)}: noises encoded frames to the first timestep,
     * {@code sqrt(a_0) * z + sqrt(1 - a_0) * N[0]}, the same noise for every frame.
     */
    public FloatTensor addInputNoise(FloatTensor latents) {
        FloatTensor out = latents.copy();
        addInputNoiseInPlace(out.data());
        return out;
    }

    /** {@link #addInputNoise} in place on f latent rows (the hot path allocates nothing). */
    public void addInputNoiseInPlace(float[] z) {
        float a = coefficients.alphaProdSqrt()[0];
        float b = coefficients.betaProdSqrt()[0];
        float[] noise = initNoise.data();
        int rs = latentRowSize;
        for (int i = 0; i < z.length; i++) z[i] = a * z[i] + b * noise[i % rs];
    }

    /**
     * {@code predict_x0_batch}: takes f noisy latents at the first timestep, returns the
     * denoised latents that leave the stream this call (f rows; with one step, all rows). The
     * latents are taken to be laid out as {@code torch.randn} makes them (txt2img); see
     * {@link #denoise(FloatTensor, MemoryFormat)}.
     */
    public FloatTensor denoise(FloatTensor xIn) {
        return denoise(xIn, MemoryFormat.CONTIGUOUS);
    }

    /**
     * {@link #denoise(FloatTensor)} for latents that the original holds in memory format
     * {@code layout}: img2img latents are channels-last there (they come from a transposed
     * NHWC image through the VAE), and without the denoising batch that decides the order of
     * the fresh noise drawn between steps (see {@link #denoiseSequential}). The values are
     * always NCHW here.
     */
    public FloatTensor denoise(FloatTensor xIn, MemoryFormat layout) {
        float[] out = new float[xIn.size()];
        denoiseInto(xIn, layout, out);
        return new FloatTensor(out, xIn.shape());
    }

    /** {@link #denoise(FloatTensor)} written into {@code out} (f latent rows), so a stream reuses one array. */
    public void denoiseInto(FloatTensor xIn, float[] out) {
        denoiseInto(xIn, MemoryFormat.CONTIGUOUS, out);
    }

    /** {@link #denoise(FloatTensor, MemoryFormat)} written into {@code out} (f latent rows). */
    public void denoiseInto(FloatTensor xIn, MemoryFormat layout, float[] out) {
        requireReady();
        if (xIn.rows() != frames || xIn.rowSize() != latentRowSize) {
            throw new IllegalArgumentException("expected " + frames + " latent rows of " + latentRowSize
                    + " values, found " + xIn);
        }
        if (out.length != xIn.size()) throw new IllegalArgumentException("output holds " + out.length + " values, expected " + xIn.size());
        if (denoisingBatch) denoiseBatch(xIn, out);
        else denoiseSequential(xIn, layout, out);
    }

    private void denoiseBatch(FloatTensor xIn, float[] result) {
        if (control != null) advanceControlRows();
        int rs = latentRowSize;
        float[] x = batch.data();
        System.arraycopy(xIn.data(), 0, x, 0, frames * rs);
        if (steps > 1) {
            System.arraycopy(latentBuffer.data(), 0, x, frames * rs, (rows - frames) * rs);
            // The stock noise moves down with its rows; the new frames start from the fixed noise.
            float[] st = stockNoise.data();
            System.arraycopy(st, 0, st, frames * rs, (rows - frames) * rs);
            System.arraycopy(initNoise.data(), 0, st, 0, frames * rs);
        }
        guidedNoise(rowTimesteps, 0);
        schedulerStep(eps, x, denoised);
        if (guidance.type().usesStockNoise()) updateStockNoise();
        if (steps > 1) {
            renoiseBuffer();
            System.arraycopy(denoised, (rows - frames) * rs, result, 0, frames * rs);
        } else {
            System.arraycopy(denoised, 0, result, 0, frames * rs);
        }
    }

    /**
     * The loop without Stream Batch: every step is its own UNet call, and the estimate is
     * re-noised with fresh noise from the global generator between steps. Like the original,
     * the input latent replaces {@code init_noise} (so the next frame's input noise is this
     * frame's noisy latent), and the stock noise is not updated.
     *
     * <p>The fresh noise is {@code torch.randn_like(x_0_pred)} (pipeline.py 426-432), so it is
     * drawn in x_0_pred's memory format, which is the input latent's: x_0_pred comes from
     * {@code scheduler_step_batch} (pipeline.py 289-294), whose result takes the strides of its
     * first operand {@code x_t_latent_batch} (torch's TensorIterator orders the output by the
     * first input whose strides are not broadcast). In img2img that latent is channels-last:
     * {@code VaeImageProcessor.preprocess} makes the image tensor with
     * {@code from_numpy(images.transpose(0, 3, 1, 2))}, and the VAE's convolutions, group norms,
     * attention reshapes and {@code add_noise} (pipeline.py 264-274, 373-381) all keep that
     * layout, so torch draws each step's noise with its scalar sampler in NHWC order
     * ({@link TorchGenerator#randnLike}). In txt2img it is {@code torch.randn}'s contiguous
     * tensor (pipeline.py 472-477) and stays contiguous. The guided noise prediction's layout
     * does not matter (it is the second operand).
     */
    private void denoiseSequential(FloatTensor xIn, MemoryFormat layout, float[] result) {
        if (control != null) {
            controlFresh = true; // every step of this frame takes its own control image
            advanceControlRows();
        }
        if (initNoise.size() == xIn.size()) System.arraycopy(xIn.data(), 0, initNoise.data(), 0, xIn.size());
        else initNoise = xIn.copy();
        float[] x = batch.data();
        System.arraycopy(xIn.data(), 0, x, 0, x.length);
        for (int step = 0; step < steps; step++) {
            for (int r = 0; r < frames; r++) setRow(r, step);
            java.util.Arrays.fill(sequentialTimesteps, coefficients.timesteps()[step]);
            guidedNoise(sequentialTimesteps, step);
            schedulerStep(eps, x, denoised);
            if (step < steps - 1) {
                float a = coefficients.alphaProdSqrt()[step + 1];
                float b = coefficients.betaProdSqrt()[step + 1];
                if (doAddNoise) {
                    float[] fresh = globalGenerator.randnLike(layout, xIn.shape()).data();
                    for (int i = 0; i < x.length; i++) x[i] = a * denoised[i] + b * fresh[i];
                } else {
                    for (int i = 0; i < x.length; i++) x[i] = a * denoised[i];
                }
            }
        }
        System.arraycopy(denoised, 0, result, 0, result.length);
    }

    /**
     * One UNet call with guidance ({@code unet_step} up to the guided epsilon), on the
     * denoising rows in {@link #batch}; the guided prediction lands in {@link #eps}. For full CFG
     * the batch is doubled with negative rows; for initialize the f new-frame rows are prepended
     * once more with negative embeddings, and their prediction becomes their stock noise.
     */
    private void guidedNoise(long[] t, int slot) {
        int rs = latentRowSize;
        int n = rows * rs;
        boolean negativeRows = guidance.hasNegativeRows();
        int negative = !negativeRows ? 0 : guidance.type() == CfgType.INITIALIZE ? frames : rows;
        FloatTensor input = batch;
        long[] inputT = t;
        if (negative > 0) {
            if (unetInput == null || unetInput.rows() != rows + negative) {
                unetInput = FloatTensor.zeros(batch.shapeWithRows(rows + negative));
                unetTimesteps = new long[rows + negative];
            }
            float[] in = unetInput.data();
            System.arraycopy(batch.data(), 0, in, 0, negative * rs);
            System.arraycopy(batch.data(), 0, in, negative * rs, n);
            System.arraycopy(t, 0, unetTimesteps, 0, negative);
            System.arraycopy(t, 0, unetTimesteps, negative, rows);
            input = unetInput;
            inputT = unetTimesteps;
        }
        if (encoderHiddenStates.rows() != input.rows()) {
            throw new IllegalStateException("the UNet batch has " + input.rows() + " rows but the prompt embeddings "
                    + encoderHiddenStates.rows());
        }
        if (unetOutput == null || unetOutput.length != input.size()) unetOutput = new float[input.size()];
        if (control == null) {
            unet.predictNoiseInto(input, conditioningFor(slot, input, inputT), unetOutput);
        } else {
            ControlResiduals residuals = control.residuals(input, inputT, encoderHiddenStates, controlImagesFor(negative));
            unet.predictNoiseInto(input, conditioningFor(slot, input, inputT), residuals, unetOutput);
        }
        unetCalls++;
        unetRows += input.rows();
        float[] o = unetOutput;
        int text = negative * rs; // the conditional prediction follows the negative rows
        if (negativeRows && guidance.type() == CfgType.INITIALIZE) {
            System.arraycopy(o, 0, stockNoise.data(), 0, frames * rs);
        }
        if (!guidance.active()) {
            System.arraycopy(o, text, eps, 0, n);
            return;
        }
        float g = guidance.scale();
        if (guidance.type().usesStockNoise()) {
            float delta = guidance.delta();
            float[] st = stockNoise.data();
            for (int i = 0; i < n; i++) {
                float uncond = st[i] * delta;
                eps[i] = uncond + g * (o[text + i] - uncond);
            }
        } else {
            for (int i = 0; i < n; i++) {
                float uncond = o[i];
                eps[i] = uncond + g * (o[text + i] - uncond);
            }
        }
    }

    /** {@code scheduler_step_batch}: x0 = c_out * (x - sqrt(1-a) eps) / sqrt(a) + c_skip * x, per row. */
    private void schedulerStep(float[] e, float[] x, float[] out) {
        int rs = latentRowSize;
        for (int r = 0; r < rows; r++) {
            float ar = rowAlpha[r], br = rowBeta[r], skip = rowCSkip[r], co = rowCOut[r];
            for (int i = r * rs, end = i + rs; i < end; i++) {
                float f = (x[i] - br * e[i]) / ar;
                out[i] = co * f + skip * x[i];
            }
        }
    }

    /**
     * The RCFG stock-noise update: the step applied to the scaled stock noise, carried to the
     * next row's timestep, plus the next row's fixed noise. With one step the original shifts by
     * a single row even when f > 1; that is kept for parity.
     */
    private void updateStockNoise() {
        int shift = steps > 1 ? frames : 1;
        int rs = latentRowSize;
        float[] st = stockNoise.data();
        for (int r = 0; r < rows; r++) {
            float br = rowBeta[r];
            for (int i = r * rs, end = i + rs; i < end; i++) scaled[i] = br * st[i];
        }
        schedulerStep(eps, scaled, stepped);
        float[] noise = initNoise.data();
        // Each value depends only on its own position, so the new stock noise overwrites the old in place.
        for (int r = 0; r < rows; r++) {
            int next = r + shift;
            float aNext = next < rows ? rowAlpha[next] : 1f;
            float bNext = next < rows ? rowBeta[next] : 1f;
            int src = (next % rows) * rs;
            for (int j = 0; j < rs; j++) {
                int i = r * rs + j;
                float d = aNext * stepped[i];
                d = d / bNext;
                st[i] = noise[src + j] + d;
            }
        }
    }

    /** Rows [0, (n-1) f) re-noised to the next timestep into the latent buffer: sqrt(a') x0 + sqrt(1-a') N' (noise optional). */
    private void renoiseBuffer() {
        int bufferRows = (steps - 1) * frames;
        int rs = latentRowSize;
        float[] noise = initNoise.data();
        float[] out = latentBuffer.data();
        for (int r = 0; r < bufferRows; r++) {
            float a = rowAlpha[r + frames];
            float b = rowBeta[r + frames];
            int off = r * rs;
            int noiseOff = (r + frames) * rs;
            if (doAddNoise) {
                for (int j = 0; j < rs; j++) out[off + j] = a * denoised[off + j] + b * noise[noiseOff + j];
            } else {
                for (int j = 0; j < rs; j++) out[off + j] = a * denoised[off + j];
            }
        }
    }

    /**
     * The sd-turbo one-step path ({@code txt2img_sd_turbo}): x0 = (x - sqrt(1-a) eps) / sqrt(a)
     * for every row at once, with no boundary scalings, buffer or guidance.
     */
    public FloatTensor oneStep(FloatTensor x) {
        requireReady();
        if (control != null) throw new IllegalStateException("the sd_turbo txt2img path takes no ControlNet (it has no input frames)");
        int rows = denoisingBatch ? steps * frames : frames;
        if (!denoisingBatch) {
            if (steps != 1) {
                throw new IllegalStateException("the sd_turbo txt2img path without the denoising batch needs exactly "
                        + "one entry in t_index_list, found " + steps);
            }
            for (int r = 0; r < rows; r++) setRow(r, 0);
        }
        if (x.rows() != rows) throw new IllegalArgumentException("expected " + rows + " rows, found " + x);
        if (encoderHiddenStates.rows() != rows) {
            throw new IllegalStateException("the sd_turbo path has no guidance rows: use cfg_type none or self,"
                    + " or guidance_scale <= 1 (the UNet batch has " + rows + " rows, the prompt embeddings "
                    + encoderHiddenStates.rows() + ")");
        }
        long[] t = java.util.Arrays.copyOf(rowTimesteps, rows);
        float[] e = new float[x.size()];
        unet.predictNoiseInto(x, conditioningFor(0, x, t), e);
        unetCalls++;
        unetRows += rows;
        float[] xd = x.data();
        float[] out = new float[xd.length];
        int rs = x.rowSize();
        for (int r = 0; r < rows; r++) {
            float a = rowAlpha[r], b = rowBeta[r];
            for (int i = r * rs, end = i + rs; i < end; i++) out[i] = (xd[i] - b * e[i]) / a;
        }
        return new FloatTensor(out, x.shape());
    }

    private void requireReady() {
        if (initNoise == null || guidance == null) throw new IllegalStateException("call prepare() first");
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    public FloatTensor initNoise() {
        return initNoise == null ? null : initNoise.copy();
    }

    public FloatTensor stockNoise() {
        return stockNoise == null ? null : stockNoise.copy();
    }

    /** The latent buffer (rows [f, n f) of the next call), or null with one step or without Stream Batch. */
    public FloatTensor latentBuffer() {
        return latentBuffer == null ? null : latentBuffer.copy();
    }

    public long unetCalls() {
        return unetCalls;
    }

    public long unetRows() {
        return unetRows;
    }

    public LcmCoefficients coefficients() {
        return coefficients;
    }
}
