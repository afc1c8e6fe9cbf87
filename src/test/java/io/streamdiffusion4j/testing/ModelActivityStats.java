package io.streamdiffusion4j.testing;

import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * A measuring tool for random models: encodes a frame with a converted model's TAESD, noises the
 * latents to one timestep, runs the UNet on an empty prompt, denoises in one step and decodes, and
 * prints the mean / std of the latents and of the UNet's eps and the fraction of output values at
 * 0 or 255. Usage (test classpath):
 * {@code ModelActivityStats CONVERTED_MODEL_DIR FRAME.png SIZE [TIMESTEP]}.
 */
public final class ModelActivityStats {
    private ModelActivityStats() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int size = Integer.parseInt(args[2]);
        long t = args.length > 3 ? Long.parseLong(args[3]) : 500;
        FloatTensor image = readImage(Path.of(args[1]), size);
        FloatTensor latents = first(OrtRunner.run(model.resolve("taesd/vae_encoder/model.onnx"), Map.of("sample", image)));
        int[][] ids = new int[1][77];
        Arrays.fill(ids[0], 513);
        ids[0][0] = 512;
        FloatTensor text = OrtRunner.run(model.resolve("text_encoder/model.onnx"), Map.of("input_ids", ids))
                .get("last_hidden_state");
        double abar = alphaBar(t);
        float[] noise = new TorchGenerator(0).randn(latents.shape()).data();
        float[] x = latents.data().clone();
        for (int i = 0; i < x.length; i++) x[i] = (float) (Math.sqrt(abar) * x[i] + Math.sqrt(1 - abar) * noise[i]);
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("sample", new FloatTensor(x, latents.shape()));
        in.put("timestep", new long[] {t});
        in.put("encoder_hidden_states", text);
        FloatTensor eps = OrtRunner.run(model.resolve("unet/model.onnx"), in).get("out_sample");
        float[] x0 = x.clone();
        for (int i = 0; i < x0.length; i++) x0[i] = (float) ((x[i] - Math.sqrt(1 - abar) * eps.data()[i]) / Math.sqrt(abar));
        FloatTensor out = first(OrtRunner.run(model.resolve("taesd/vae_decoder/model.onnx"),
                Map.of("latent_sample", new FloatTensor(x0, latents.shape()))));
        long clamped = 0;
        for (float v : out.data()) {
            long p = Math.round(Math.max(0, Math.min(1, v / 2 + 0.5)) * 255);
            if (p == 0 || p == 255) clamped++;
        }
        System.out.printf("latents mean %.3f std %.3f | eps (t=%d) mean %.3f std %.3f | x0 mean %.3f std %.3f"
                        + " | decoded clamped %.1f%%%n", mean(latents.data()), std(latents.data()), t, mean(eps.data()),
                std(eps.data()), mean(x0), std(x0), 100.0 * clamped / out.data().length);
    }

    private static FloatTensor first(Map<String, FloatTensor> outputs) {
        return outputs.values().iterator().next();
    }

    /** sd-turbo's scaled_linear betas (0.00085 .. 0.012 over 1000 steps). */
    private static double alphaBar(long t) {
        double a = 1;
        for (int i = 0; i <= t; i++) {
            double b = Math.pow(Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * i / 999.0, 2);
            a *= 1 - b;
        }
        return a;
    }

    private static FloatTensor readImage(Path file, int size) throws Exception {
        BufferedImage src = ImageIO.read(file.toFile());
        BufferedImage im = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = im.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, size, size, null);
        g.dispose();
        float[] v = new float[3 * size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int rgb = im.getRGB(x, y);
                for (int c = 0; c < 3; c++) v[c * size * size + y * size + x] = ((rgb >> (16 - 8 * c)) & 255) / 127.5f - 1f;
            }
        }
        return new FloatTensor(v, 1, 3, size, size);
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) s += x;
        return s / v.length;
    }

    private static double std(float[] v) {
        double m = mean(v);
        double s = 0;
        for (float x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / v.length);
    }
}
