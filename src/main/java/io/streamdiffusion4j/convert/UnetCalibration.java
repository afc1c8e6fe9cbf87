package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.onnx.ActivationRanges;
import io.streamdiffusion4j.onnx.ActivationRanges.Input;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.text.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The inputs a UNet is calibrated on for static int8 ({@link StaticInt8Quantizer}): what a
 * stream feeds it. Prompt embeddings from the model's own tokenizer and text encoder for a few
 * prompts (the empty one, which guidance rows use, and some of different kinds); latents of
 * {@link CalibrationImages} from the model's TAESD where it has one (else unit Gaussians, the
 * scale the VAE's scaling factor gives latents), noised to timesteps across the schedule with
 * the model's own noise schedule, so one-step (t = 999) and several-step streams and txt2img
 * (pure noise) are all covered.
 */
public final class UnetCalibration {
    static final List<String> PROMPTS = List.of("",
            "a photo of a person looking at the camera, natural light",
            "an oil painting of mountains and a lake at sunset",
            "anime style portrait, vivid colours, detailed");
    static final int[] TIMESTEPS = {999, 749, 499, 249};
    /** Latent size: 256x256 images; activation ranges barely depend on it, and it keeps calibration quick. */
    static final int LATENT = 32;
    static final long SEED = 20261202L;
    public static final String VERSION = "v1";

    private UnetCalibration() {}

    /** What the inputs are: part of the cache key of int8 copies. */
    public static String describe() {
        return "unet-" + VERSION + "-" + PROMPTS.size() + "prompts-t" + TIMESTEPS.length + "-latent" + LATENT + "-seed" + SEED
                + "-images-" + CalibrationImages.VERSION;
    }

    /** Measures the ranges of {@code tensors} of the UNet of the ONNX model folder {@code modelDir}. */
    public static Map<String, StaticInt8Quantizer.Range> ranges(Path modelDir, Set<String> tensors) throws IOException {
        Path unet = modelDir.resolve("unet/model.onnx");
        return ActivationRanges.measure(unet, tensors, runs(modelDir)).ranges();
    }

    static List<List<Input>> runs(Path modelDir) throws IOException {
        if (SdxlTextEncoders.isSdxl(modelDir)) {
            // the calibration feeds the plain UNet inputs; SDXL's also need text_embeds and time_ids
            throw new io.streamdiffusion4j.files.InputFileException(modelDir + " is an SDXL model: int8 quantization"
                    + " (--quantize, bench --experiments int8) is not supported for SDXL yet; leave it out");
        }
        List<float[]> embeddings = embeddings(modelDir);
        int hidden = embeddings.getFirst().length / 77;
        List<float[]> latents = latents(modelDir);
        LcmScheduler scheduler = new LcmScheduler(SchedulerConfig.read(require(modelDir.resolve("scheduler/scheduler_config.json"))));
        SplittableRandom noise = new SplittableRandom(SEED);
        List<List<Input>> runs = new ArrayList<>();
        int k = 0;
        for (float[] e : embeddings) {
            for (int t : TIMESTEPS) {
                float[] z = latents.get(k++ % latents.size());
                double a = Math.sqrt(scheduler.alphaCumprod(t)), s = Math.sqrt(1 - scheduler.alphaCumprod(t));
                float[] x = new float[z.length];
                for (int i = 0; i < x.length; i++) x[i] = (float) (a * z[i] + s * noise.nextGaussian());
                runs.add(List.of(Input.floats("sample", new long[] {1, 4, LATENT, LATENT}, x),
                        Input.ints("timestep", new long[] {1}, new long[] {t}),
                        Input.floats("encoder_hidden_states", new long[] {1, 77, hidden}, e)));
            }
        }
        return runs;
    }

    private static List<float[]> embeddings(Path modelDir) throws IOException {
        ClipTokenizer tokenizer = ClipTokenizer.load(require(modelDir.resolve("tokenizer")));
        List<List<Input>> runs = new ArrayList<>();
        for (String p : PROMPTS) {
            int[] ids = tokenizer.encode(p);
            long[] v = new long[ids.length];
            for (int i = 0; i < ids.length; i++) v[i] = ids[i];
            runs.add(List.of(Input.ints("input_ids", new long[] {1, ids.length}, v)));
        }
        return ActivationRanges.measure(require(modelDir.resolve("text_encoder/model.onnx")), Set.of(), runs,
                "last_hidden_state").outputs();
    }

    private static List<float[]> latents(Path modelDir) throws IOException {
        Path taesd = modelDir.resolve("taesd/vae_encoder/model.onnx");
        int size = LATENT * 8;
        if (Files.isRegularFile(taesd)) {
            List<float[]> images = CalibrationImages.generate(TIMESTEPS.length, size, size, SEED);
            return ActivationRanges.measure(taesd, Set.of(), images, new long[] {1, 3, size, size}).outputs();
        }
        SplittableRandom r = new SplittableRandom(SEED + 1);
        List<float[]> latents = new ArrayList<>();
        for (int i = 0; i < TIMESTEPS.length; i++) {
            float[] z = new float[4 * LATENT * LATENT];
            for (int j = 0; j < z.length; j++) z[j] = (float) r.nextGaussian();
            latents.add(z);
        }
        return latents;
    }

    private static Path require(Path p) throws IOException {
        if (!Files.exists(p)) {
            throw new InputFileException(p + " not found: int8 calibration runs the model's tokenizer, text encoder and"
                    + " scheduler configuration");
        }
        return p;
    }
}
