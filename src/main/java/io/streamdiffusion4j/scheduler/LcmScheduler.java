package io.streamdiffusion4j.scheduler;

import java.util.Arrays;

/**
 * The quantities StreamDiffusion takes from diffusers' {@code LCMScheduler} (v0.24): the noise
 * schedule {@code alphas_cumprod}, the inference timesteps, and the consistency-model boundary
 * condition. Everything is computed the way PyTorch computes it in float32, so the values
 * match the original bit for bit (checked against the reference run's tensors).
 */
public final class LcmScheduler {
    private static final float SIGMA_DATA = 0.5f;

    private final SchedulerConfig config;
    private final float[] alphasCumprod;

    public LcmScheduler(SchedulerConfig config) {
        this.config = config;
        this.alphasCumprod = computeAlphasCumprod(config);
    }

    public SchedulerConfig config() {
        return config;
    }

    /** {@code scheduler.alphas_cumprod}: the cumulative product of (1 - beta), float32. */
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    public float alphaCumprod(int timestep) {
        return alphasCumprod[timestep];
    }

    /**
     * {@code set_timesteps(num_inference_steps)}: {@code original_inference_steps} evenly spaced
     * training timesteps {@code k*i - 1} (k = train steps / original steps), reversed, then
     * {@code num_inference_steps} of them picked at {@code floor(linspace(0, len, n, endpoint=False))}.
     */
    public int[] timesteps(int numInferenceSteps) {
        int original = config.originalInferenceSteps();
        if (numInferenceSteps < 1) {
            throw new IllegalArgumentException("num_inference_steps must be at least 1, found " + numInferenceSteps);
        }
        if (numInferenceSteps > original) {
            throw new IllegalArgumentException("num_inference_steps must be at most original_inference_steps ("
                    + original + ") of the LCM schedule, found " + numInferenceSteps);
        }
        int k = config.numTrainTimesteps() / original;
        int[] originReversed = new int[original];
        for (int i = 0; i < original; i++) originReversed[i] = (original - i) * k - 1;
        double step = (double) original / numInferenceSteps; // numpy: arange(n) * (delta / n) + 0
        int[] out = new int[numInferenceSteps];
        for (int i = 0; i < numInferenceSteps; i++) out[i] = originReversed[(int) Math.floor(i * step)];
        return out;
    }

    /** {@code c_skip} of the LCM boundary condition at a timestep: sigma^2 / ((s t)^2 + sigma^2). */
    public float cSkip(int timestep) {
        float scaled = scaledTimestep(timestep);
        float s2 = SIGMA_DATA * SIGMA_DATA;
        return s2 / (scaled * scaled + s2);
    }

    /** {@code c_out} of the LCM boundary condition: s t / sqrt((s t)^2 + sigma^2). */
    public float cOut(int timestep) {
        float scaled = scaledTimestep(timestep);
        float s2 = SIGMA_DATA * SIGMA_DATA;
        return scaled / (float) Math.sqrt(scaled * scaled + s2);
    }

    /** sqrt(alpha_bar_t), as {@code alphas_cumprod[t].sqrt()} in float32. */
    public float alphaProdSqrt(int timestep) {
        return (float) Math.sqrt(alphasCumprod[timestep]);
    }

    /** sqrt(1 - alpha_bar_t), as {@code (1 - alphas_cumprod[t]).sqrt()} in float32. */
    public float betaProdSqrt(int timestep) {
        return (float) Math.sqrt(1f - alphasCumprod[timestep]);
    }

    private float scaledTimestep(int timestep) {
        // int64 tensor * python float -> float32 tensor
        return (float) timestep * (float) config.timestepScaling();
    }

    private static float[] computeAlphasCumprod(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        float[] betas;
        if (c.trainedBetas() != null) {
            if (c.trainedBetas().length != n) {
                throw new IllegalArgumentException("trained_betas has " + c.trainedBetas().length
                        + " values, num_train_timesteps is " + n);
            }
            betas = new float[n];
            for (int i = 0; i < n; i++) betas[i] = (float) c.trainedBetas()[i];
        } else {
            betas = switch (c.betaSchedule()) {
                case "linear" -> torchLinspace((float) c.betaStart(), (float) c.betaEnd(), n);
                case "scaled_linear" -> {
                    float[] b = torchLinspace((float) Math.sqrt(c.betaStart()), (float) Math.sqrt(c.betaEnd()), n);
                    for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                    yield b;
                }
                case "squaredcos_cap_v2" -> squaredCosBetas(n);
                default -> throw new IllegalArgumentException("beta_schedule '" + c.betaSchedule()
                        + "' is not supported; expected linear, scaled_linear or squaredcos_cap_v2");
            };
        }
        if (c.rescaleBetasZeroSnr()) betas = rescaleZeroTerminalSnr(betas);
        float[] out = new float[n];
        double acc = 1.0; // torch.cumprod on the CPU accumulates float32 in double
        for (int i = 0; i < n; i++) {
            acc *= (1f - betas[i]);
            out[i] = (float) acc;
        }
        return out;
    }

    /**
     * {@code torch.linspace(start, end, steps)} for float32 on the CPU: the first half counts up
     * from {@code start}, the second half down from {@code end}, in vectors of 8 whose lanes are
     * {@code base + i * step}, and the last values one at a time.
     */
    static float[] torchLinspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (steps - 1);
        int halfway = steps / 2;
        int vec = 8;
        int i = 0;
        // PyTorch's x86 build contracts a * b + c into fused multiply-adds (one rounding).
        for (; i + 2 * vec <= steps; i += vec) {
            float base = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
            for (int j = 0; j < vec; j++) out[i + j] = Math.fma((float) j, step, base);
        }
        for (; i < steps; i++) {
            out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    private static float[] squaredCosBetas(int n) {
        float[] betas = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            betas[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return betas;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    private static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] sqrtBar = new float[n];
        double acc = 1.0;
        for (int i = 0; i < n; i++) {
            acc *= (1f - betas[i]);
            sqrtBar[i] = (float) Math.sqrt((float) acc);
        }
        float first = sqrtBar[0];
        float last = sqrtBar[n - 1];
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (sqrtBar[i] - last) * (first / (first - last));
            bar[i] = v * v;
        }
        float[] out = new float[n];
        out[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) out[i] = 1f - bar[i] / bar[i - 1];
        return out;
    }

    @Override
    public String toString() {
        return "LcmScheduler" + Arrays.asList(config.betaSchedule(), config.numTrainTimesteps());
    }
}
