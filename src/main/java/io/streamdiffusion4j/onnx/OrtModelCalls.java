package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtException;
import io.streamdiffusion4j.model.StableDiffusionModels;
import java.util.SplittableRandom;

/**
 * The model calls of one img2img frame (VAE encoder, one UNet call, VAE decoder) run on their
 * own, with fixed random inputs and no pipeline around them: ONNX Runtime's time for the work
 * the pipeline asks of it. The benchmark compares a pipeline frame against this to show the
 * pipeline's own overhead. Uses the same sessions as the pipeline, with separate buffers.
 */
public final class OrtModelCalls implements AutoCloseable {
    private final PinnedRun encoder;
    private final PinnedRun unet;
    private final PinnedRun decoder;
    /** The UNet's pre-computed conditioning the raw UNet call reads, or null when it takes the embeddings. */
    private final io.streamdiffusion4j.model.Unet.Conditioning conditioning;

    /**
     * @param unetRows rows of the UNet call (denoising plus guidance rows)
     * @param frames images per VAE call
     */
    public OrtModelCalls(StableDiffusionModels models, int unetRows, int frames, int width, int height) {
        if (!(models.unet() instanceof OrtUnet u) || !(models.vae().encoder() instanceof OrtVaeEncoder e)
                || !(models.vae().decoder() instanceof OrtVaeDecoder d)) {
            throw new IllegalArgumentException("raw model calls need models loaded with ONNX Runtime, found " + models.description());
        }
        SplittableRandom random = new SplittableRandom(1);
        int lh = height / StaticShapes.VAE_FACTOR;
        int lw = width / StaticShapes.VAE_FACTOR;
        int sequence = models.textEncoder().embeddingLength(); // 77, or 78 with SDXL's pooled row
        try {
            encoder = copyOf(e.pinnedRun(), random, new long[][] {{frames, 3, height, width}});
            long[] sample = {unetRows, u.latentChannels(), lh, lw};
            if (u.precomputes()) {
                // the per-frame work of a split UNet is its main session, on conditioning prepared once
                float[] h = new float[unetRows * sequence * u.crossAttentionDim()];
                for (int k = 0; k < h.length; k++) h[k] = (float) (random.nextDouble() * 2 - 1);
                long[] t = new long[unetRows];
                for (int k = 0; k < t.length; k++) t[k] = random.nextInt(1000);
                conditioning = u.prepare(new int[] {unetRows, u.latentChannels(), lh, lw}, t,
                        new io.streamdiffusion4j.tensor.FloatTensor(h, unetRows, sequence, u.crossAttentionDim()));
                unet = copyOf(u.pinnedRun(), random, new long[][] {sample});
                u.bindConditioning(unet, conditioning);
            } else {
                conditioning = null;
                unet = copyOf(u.pinnedRun(), random, new long[][] {
                        sample, {unetRows}, {unetRows, sequence, u.crossAttentionDim()}});
            }
            decoder = copyOf(d.pinnedRun(), random, new long[][] {{frames, u.latentChannels(), lh, lw}});
        } catch (OrtException ex) {
            throw new IllegalStateException("cannot set up the raw model calls: " + ex.getMessage(), ex);
        }
    }

    private static PinnedRun copyOf(PinnedRun template, SplittableRandom random, long[][] shapes)
            throws OrtException {
        PinnedRun run = template.sibling();
        for (int i = 0; i < shapes.length; i++) {
            DirectTensor t = run.input(i, shapes[i]);
            if (t.type() == ai.onnxruntime.OnnxJavaType.FLOAT || t.type() == ai.onnxruntime.OnnxJavaType.FLOAT16) {
                float[] v = new float[t.size()];
                for (int k = 0; k < v.length; k++) v[k] = (float) (random.nextDouble() * 2 - 1);
                t.writeFloats(v);
            } else {
                long[] v = new long[t.size()];
                for (int k = 0; k < v.length; k++) v[k] = random.nextInt(1000);
                t.writeIntegers(v);
            }
        }
        return run;
    }

    /** Runs encoder, UNet and decoder once; returns the nanoseconds spent in ONNX Runtime. */
    public long runFrame() {
        try {
            long start = System.nanoTime();
            encoder.run();
            unet.run();
            decoder.run();
            return System.nanoTime() - start;
        } catch (OrtException e) {
            throw new IllegalStateException("raw model call failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        encoder.close();
        unet.close();
        decoder.close();
        if (conditioning != null) conditioning.close();
    }
}
