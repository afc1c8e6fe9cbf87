package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.Arrays;

/**
 * The denoising UNet as the stream uses it: every row of the batch has its own timestep, so
 * one call denoises several frames at several steps (Stream Batch).
 *
 * <p>A stream's prompt embeddings and timesteps change only when its prompt or configuration
 * does, so it {@link #prepare}s them once and then calls {@link #predictNoiseInto(FloatTensor,
 * Conditioning, float[])} per frame: a UNet that can pre-compute what depends on them alone
 * (the cross-attention keys and values, the time embedding) does so in {@code prepare}.
 */
public interface Unet extends AutoCloseable {

    /**
     * Predicts the noise (epsilon) of each row.
     *
     * @param sample noisy latents, shape (rows, channels, h, w)
     * @param timesteps one timestep per row
     * @param encoderHiddenStates prompt embeddings, shape (rows, sequence, crossAttentionDim)
     * @return epsilon, same shape as {@code sample}
     */
    FloatTensor predictNoise(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates);

    /**
     * {@link #predictNoise} written into {@code eps} (as many values as {@code sample}), so a
     * stream can reuse one array across frames. Implementations that can write in place (ONNX
     * Runtime with pinned outputs) override this; the default copies.
     */
    default void predictNoiseInto(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates, float[] eps) {
        float[] out = predictNoise(sample, timesteps, encoderHiddenStates).data();
        if (out.length != eps.length) {
            throw new IllegalArgumentException("the UNet returned " + out.length + " values, expected " + eps.length);
        }
        System.arraycopy(out, 0, eps, 0, out.length);
    }

    /**
     * The conditioning of calls on samples of {@code sampleShape} with these timesteps and
     * embeddings (one per row), computed once for as many calls as the caller likes. The default
     * keeps the embeddings as they are (nothing is pre-computed). Close it when the prompt or
     * the timesteps change; it may hold native memory.
     */
    default Conditioning prepare(int[] sampleShape, long[] timesteps, FloatTensor encoderHiddenStates) {
        return Embeddings.of(sampleShape, timesteps, encoderHiddenStates);
    }

    /** {@link #predictNoiseInto(FloatTensor, long[], FloatTensor, float[])} with prepared conditioning. */
    default void predictNoiseInto(FloatTensor sample, Conditioning conditioning, float[] eps) {
        if (!(conditioning instanceof Embeddings e)) {
            throw new IllegalArgumentException("this UNet cannot use conditioning prepared by another one: " + conditioning);
        }
        e.requireFits(sample);
        predictNoiseInto(sample, e.timesteps, e.encoderHiddenStates, eps);
    }

    /**
     * Whether this UNet takes ControlNet residuals ({@link #predictNoiseInto(FloatTensor, Conditioning,
     * ControlResiduals, float[])}): a graph made with residual inputs. A plain UNet does not.
     */
    default boolean acceptsResiduals() {
        return false;
    }

    /**
     * {@link #predictNoiseInto(FloatTensor, Conditioning, float[])} with ControlNet residuals added
     * to the skip connections and the middle block (their rows are the sample's). Zero residuals
     * give exactly the plain prediction.
     */
    default void predictNoiseInto(FloatTensor sample, Conditioning conditioning, ControlResiduals residuals, float[] eps) {
        throw new UnsupportedOperationException("this UNet takes no ControlNet residuals: " + this);
    }

    int latentChannels();

    int crossAttentionDim();

    @Override
    void close();

    /** What {@link #prepare} made: valid for samples of one shape, with one timestep per row. */
    interface Conditioning extends AutoCloseable {
        /** The sample shape it was prepared for. */
        int[] sampleShape();

        /** Whether it was prepared for exactly these timesteps and samples of this one's shape. */
        boolean fits(long[] timesteps, FloatTensor sample);

        @Override
        void close();
    }

    /** Conditioning that is just the embeddings and timesteps, for UNets that pre-compute nothing. */
    final class Embeddings implements Conditioning {
        private final int[] sampleShape;
        private final long[] timesteps;
        private final FloatTensor encoderHiddenStates;

        private Embeddings(int[] sampleShape, long[] timesteps, FloatTensor encoderHiddenStates) {
            this.sampleShape = sampleShape;
            this.timesteps = timesteps;
            this.encoderHiddenStates = encoderHiddenStates;
        }

        /** Checks that there is one timestep and one embedding per sample row. */
        public static Embeddings of(int[] sampleShape, long[] timesteps, FloatTensor encoderHiddenStates) {
            if (sampleShape.length == 0 || timesteps.length != sampleShape[0] || encoderHiddenStates.rows() != sampleShape[0]) {
                throw new IllegalArgumentException("UNet batch mismatch: " + (sampleShape.length == 0 ? 0 : sampleShape[0])
                        + " sample rows, " + timesteps.length + " timesteps, " + encoderHiddenStates.rows() + " embedding rows");
            }
            return new Embeddings(sampleShape.clone(), timesteps.clone(), encoderHiddenStates);
        }

        public long[] timesteps() {
            return timesteps.clone();
        }

        public FloatTensor encoderHiddenStates() {
            return encoderHiddenStates;
        }

        @Override
        public int[] sampleShape() {
            return sampleShape.clone();
        }

        @Override
        public boolean fits(long[] t, FloatTensor sample) {
            return Arrays.equals(timesteps, t) && sample.hasShape(sampleShape);
        }

        void requireFits(FloatTensor sample) {
            if (!sample.hasShape(sampleShape)) {
                throw new IllegalArgumentException("conditioning prepared for samples of " + Arrays.toString(sampleShape)
                        + ", given " + sample);
            }
        }

        @Override
        public void close() {}

        @Override
        public String toString() {
            return "embeddings " + encoderHiddenStates + " at timesteps " + Arrays.toString(timesteps);
        }
    }
}
