package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import io.streamdiffusion4j.convert.SdxlTextEncoders;
import io.streamdiffusion4j.model.SdxlConditioning;
import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;
import java.util.Set;

/**
 * Stable Diffusion XL's two text encoders on ONNX Runtime as one {@link TextEncoder}: token ids
 * from a {@link io.streamdiffusion4j.text.PairedTokenizer} (the first tokenizer's, then the
 * second's) in, the {@link SdxlConditioning packed} prompt embedding out: both encoders'
 * penultimate hidden states side by side (768 + 1280 features for SDXL), plus one row with the
 * second encoder's projected pooled output ({@code text_embeds}). As
 * {@code StableDiffusionXLPipeline.encode_prompt} (diffusers 0.24-0.27) without clip_skip.
 * Works on this project's converted encoders and on Optimum's exports (which output every
 * {@code hidden_states.N}; only the penultimate is read).
 */
public final class OrtSdxlTextEncoder implements TextEncoder {
    private static final Set<OnnxJavaType> FLOATS = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final OnnxSession first;
    private final OnnxSession second;
    private final PinnedRun firstRun;
    private final PinnedRun secondRun;
    private final int firstWidth;
    private final int secondWidth;
    private final int pooledWidth;
    private final boolean zerosForEmptyNegativePrompt;

    /**
     * @param zerosForEmptyNegativePrompt the model index's {@code force_zeros_for_empty_prompt}
     *     (diffusers' SDXL default true): an empty negative prompt is a zero embedding
     */
    OrtSdxlTextEncoder(OnnxSession first, ComponentConfig firstConfig, OnnxSession second, ComponentConfig secondConfig,
                       boolean zerosForEmptyNegativePrompt) throws InvalidModelException {
        this.first = first;
        this.second = second;
        this.zerosForEmptyNegativePrompt = zerosForEmptyNegativePrompt;
        try {
            Port ids1 = first.input("token ids", List.of("input_ids"), Set.of(OnnxJavaType.INT32, OnnxJavaType.INT64), 2);
            Port ids2 = second.input("token ids", List.of("input_ids"), Set.of(OnnxJavaType.INT32, OnnxJavaType.INT64), 2);
            Port hidden1 = first.output("penultimate hidden state", List.of(penultimate(firstConfig)), FLOATS, 3);
            Port hidden2 = second.output("penultimate hidden state", List.of(penultimate(secondConfig)), FLOATS, 3);
            Port pooled = second.output("projected pooled output", List.of(SdxlTextEncoders.TEXT_EMBEDS), FLOATS, 2);
            firstWidth = width(hidden1, 2, firstConfig, "hidden_size");
            secondWidth = width(hidden2, 2, secondConfig, "hidden_size");
            pooledWidth = width(pooled, 1, secondConfig, "projection_dim");
            firstRun = new PinnedRun(first, new Port[] {ids1}, new Port[] {hidden1});
            secondRun = new PinnedRun(second, new Port[] {ids2}, new Port[] {hidden2, pooled});
        } catch (InvalidModelException | RuntimeException e) {
            first.close();
            second.close();
            throw e;
        }
        if (pooledWidth > firstWidth + secondWidth) {
            close();
            throw new InvalidModelException(second.file() + ": the pooled embedding (" + pooledWidth
                    + ") is wider than the concatenated hidden states (" + (firstWidth + secondWidth) + ")");
        }
    }

    private static String penultimate(ComponentConfig config) throws InvalidModelException {
        int layers = config.intValue("num_hidden_layers");
        if (layers <= 0) {
            throw new InvalidModelException(config.file() + ": 'num_hidden_layers' is needed to find the penultimate hidden state");
        }
        return SdxlTextEncoders.penultimateOutput(layers);
    }

    private static int width(Port port, int axis, ComponentConfig config, String key) throws InvalidModelException {
        long fixed = port.fixedDim(axis);
        if (fixed > 0) return (int) fixed;
        int configured = config.intValue(key);
        if (configured > 0) return configured;
        throw new InvalidModelException("the width of '" + port.name() + "' is dynamic and " + config.file() + " has no '" + key + "'");
    }

    @Override
    public synchronized FloatTensor encode(int[] tokenIds) {
        if (tokenIds.length % 2 != 0) {
            throw new IllegalArgumentException("expected the ids of both SDXL tokenizers (an even count), found " + tokenIds.length);
        }
        int length = tokenIds.length / 2;
        long[] a = new long[length];
        long[] b = new long[length];
        for (int i = 0; i < length; i++) {
            a[i] = tokenIds[i];
            b[i] = tokenIds[length + i];
        }
        try {
            float[] h1 = run(firstRun, a, 0);
            float[] h2 = run(secondRun, b, 0);
            float[] pooled = new float[pooledWidth];
            secondRun.output(1).readFloats(pooled);
            int width = firstWidth + secondWidth;
            float[] joined = new float[length * width];
            for (int t = 0; t < length; t++) {
                System.arraycopy(h1, t * firstWidth, joined, t * width, firstWidth);
                System.arraycopy(h2, t * secondWidth, joined, t * width + firstWidth, secondWidth);
            }
            return SdxlConditioning.pack(new FloatTensor(joined, 1, length, width), pooled);
        } catch (OrtException e) {
            throw new IllegalStateException("SDXL text encoders " + first.file() + ", " + second.file() + " failed: " + e.getMessage(), e);
        }
    }

    private static float[] run(PinnedRun run, long[] ids, int output) throws OrtException {
        run.input(0, new long[] {1, ids.length}).writeIntegers(ids);
        run.run();
        DirectTensor out = run.output(output);
        float[] h = new float[out.size()];
        out.readFloats(h);
        return h;
    }

    @Override
    public int hiddenSize() {
        return firstWidth + secondWidth;
    }

    /** Both tokenizers' ids. */
    @Override
    public int sequenceLength() {
        return 2 * SdxlConditioning.TOKENS;
    }

    /** The token rows and the pooled row. */
    @Override
    public int embeddingLength() {
        return SdxlConditioning.TOKENS + 1;
    }

    @Override
    public boolean zerosForEmptyNegativePrompt() {
        return zerosForEmptyNegativePrompt;
    }

    @Override
    public synchronized void close() {
        firstRun.close();
        secondRun.close();
        first.close();
        second.close();
    }
}
