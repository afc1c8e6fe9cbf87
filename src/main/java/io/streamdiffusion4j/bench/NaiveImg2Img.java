package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.ImagePreprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The per-frame img2img baseline the paper compares against (a diffusers img2img pipeline called
 * once per frame): every frame encodes the prompt again with the text encoder, encodes the image
 * with the full AutoencoderKL, draws fresh noise, runs the denoising steps one UNet call after
 * another (with classifier-free guidance, a negative row per step, when guidance_scale > 1, as
 * diffusers does), and decodes with the AutoencoderKL. Same timesteps and scheduler as the stream,
 * so the two do the same denoising work per frame and differ only in how the pipeline is organised.
 */
final class NaiveImg2Img {
    private final StableDiffusionModels models;
    private final RunConfig run;
    private final ImagePreprocessor preprocessor;
    private final LcmCoefficients coefficients;
    private final TorchGenerator generator;
    private final boolean guided;

    /** @param models with the model's own AutoencoderKL as the VAE */
    NaiveImg2Img(StableDiffusionModels models, RunConfig run) {
        this.models = models;
        this.run = run;
        this.preprocessor = new ImagePreprocessor(run.width(), run.height());
        this.coefficients = LcmCoefficients.compute(new LcmScheduler(models.schedulerConfig()), run.numInferenceSteps(),
                run.tIndexList());
        this.generator = new TorchGenerator(run.seed());
        this.guided = run.guidanceScale() > 1;
    }

    /** UNet rows per frame: one per step, two with guidance. */
    int unetRowsPerFrame() {
        return coefficients.steps() * (guided ? 2 : 1);
    }

    RunSummary measure(List<RgbImage> input, int warmup, int frames) {
        List<FrameSample> samples = new ArrayList<>();
        for (int i = 0; i < warmup + frames; i++) {
            FrameSample s = frame(input.get(i % input.size()));
            if (i >= warmup) samples.add(s);
        }
        return new RunSummary("naive img2img per frame", "AutoencoderKL, text encoder every frame, fresh noise, "
                + coefficients.steps() + " sequential step(s)" + (guided ? " with CFG (guidance_scale " + run.guidanceScale() + ")" : ""),
                samples);
    }

    private FrameSample frame(RgbImage image) {
        LongSupplier modelNanos = ModelTime.of(models);
        long modelBefore = modelNanos.getAsLong();
        long alloc = ProcessStats.allocatedBytes();
        long t0 = System.nanoTime();
        FloatTensor x = preprocessor.toTensor(image);
        long t1 = System.nanoTime();
        FloatTensor cond = models.textEncoder().encode(models.tokenizer().encode(run.prompt()));
        FloatTensor uncond = guided ? models.textEncoder().encode(models.tokenizer().encode(run.negativePrompt())) : null;
        long t2 = System.nanoTime();
        FloatTensor latents = encode(x);
        long t3 = System.nanoTime();
        FloatTensor x0 = denoise(latents, cond, uncond);
        long t4 = System.nanoTime();
        float scale = models.vae().scalingFactor();
        float[] z = x0.data().clone();
        for (int i = 0; i < z.length; i++) z[i] = z[i] / scale;
        FloatTensor decoded = models.vae().decoder().decode(new FloatTensor(z, x0.shape()));
        long t5 = System.nanoTime();
        ImagePostprocessor.toRgbImages(decoded);
        long t6 = System.nanoTime();
        long allocated = ProcessStats.allocatedBytes() - alloc;
        return new FrameSample(t1 - t0, t2 - t1, t3 - t2, t4 - t3, 0, t5 - t4, t6 - t5, t6 - t0,
                modelNanos.getAsLong() - modelBefore, unetRowsPerFrame(), allocated, allocated, false);
    }

    private FloatTensor encode(FloatTensor images) {
        LatentDistribution d = models.vae().encoder().encode(images);
        float[] mean = d.mean().data();
        float[] z = new float[mean.length];
        float[] noise = d.isDeterministic() ? null : generator.randn(d.mean().shape()).data();
        float scale = models.vae().scalingFactor();
        for (int i = 0; i < z.length; i++) {
            float v = noise == null ? mean[i] : mean[i] + d.std().data()[i] * noise[i];
            z[i] = v * scale;
        }
        return new FloatTensor(z, d.mean().shape());
    }

    /** Fresh noise to the first timestep, then one UNet call per step, re-noising with fresh noise between steps. */
    private FloatTensor denoise(FloatTensor latents, FloatTensor cond, FloatTensor uncond) {
        float[] noise = generator.randn(latents.shape()).data();
        float[] x = new float[latents.size()];
        float a0 = coefficients.alphaProdSqrt()[0];
        float b0 = coefficients.betaProdSqrt()[0];
        for (int i = 0; i < x.length; i++) x[i] = a0 * latents.data()[i] + b0 * noise[i];
        FloatTensor embeddings = guided ? FloatTensor.concatRows(uncond, cond) : cond;
        float g = (float) run.guidanceScale();
        float[] x0 = null;
        for (int k = 0; k < coefficients.steps(); k++) {
            FloatTensor sample = new FloatTensor(x, latents.shape());
            long t = coefficients.timesteps()[k];
            float[] eps;
            if (guided) {
                float[] both = models.unet().predictNoise(FloatTensor.concatRows(sample, sample), new long[] {t, t}, embeddings).data();
                int n = x.length;
                eps = new float[n];
                for (int i = 0; i < n; i++) eps[i] = both[i] + g * (both[n + i] - both[i]);
            } else {
                eps = models.unet().predictNoise(sample, new long[] {t}, embeddings).data();
            }
            float a = coefficients.alphaProdSqrt()[k];
            float b = coefficients.betaProdSqrt()[k];
            float skip = coefficients.cSkip()[k];
            float out = coefficients.cOut()[k];
            x0 = new float[x.length];
            for (int i = 0; i < x.length; i++) x0[i] = out * ((x[i] - b * eps[i]) / a) + skip * x[i];
            if (k < coefficients.steps() - 1) {
                float an = coefficients.alphaProdSqrt()[k + 1];
                float bn = coefficients.betaProdSqrt()[k + 1];
                float[] fresh = generator.randn(latents.shape()).data();
                x = new float[x.length];
                for (int i = 0; i < x.length; i++) x[i] = an * x0[i] + bn * fresh[i];
            }
        }
        return new FloatTensor(x0, latents.shape());
    }
}
