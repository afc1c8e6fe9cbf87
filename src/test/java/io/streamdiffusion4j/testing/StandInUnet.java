package io.streamdiffusion4j.testing;

import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A cheap deterministic UNet stand-in for testing the pipeline math: each row's prediction is
 * a fixed function of that row's sample, timestep and embedding, so rows are independent (as
 * in a real UNet) and any mix-up of rows shows.
 */
public final class StandInUnet implements Unet {
    public record Call(FloatTensor sample, long[] timesteps, FloatTensor hiddenStates) {}

    public final List<Call> calls = new ArrayList<>();
    /** Conditionings prepared and closed so far (the pipeline prepares once per prompt, guidance and timesteps). */
    public int prepared;
    public int released;
    private final int channels;
    private final int crossDim;
    /** Whether it takes ControlNet residuals (a UNet made with residual inputs). */
    public boolean acceptsResiduals;
    /** The residuals of each call with residuals, copied. */
    public final List<ControlResiduals> residualCalls = new ArrayList<>();

    public StandInUnet(int channels, int crossDim) {
        this.channels = channels;
        this.crossDim = crossDim;
    }

    @Override
    public FloatTensor predictNoise(FloatTensor sample, long[] t, FloatTensor h) {
        calls.add(new Call(sample.copy(), t.clone(), h.copy()));
        int rows = sample.rows();
        int rs = sample.rowSize();
        int hs = h.rowSize();
        float[] x = sample.data();
        float[] out = new float[x.length];
        for (int r = 0; r < rows; r++) {
            float e = 0;
            for (int j = 0; j < hs; j++) e += h.data()[r * hs + j];
            e /= hs;
            for (int i = 0; i < rs; i++) {
                int k = r * rs + i;
                out[k] = 0.3f * x[k] + (float) Math.sin(0.01 * t[r] + i) * 0.5f + 0.2f * e;
            }
        }
        return new FloatTensor(out, sample.shape());
    }

    @Override
    public Conditioning prepare(int[] sampleShape, long[] timesteps, FloatTensor encoderHiddenStates) {
        prepared++;
        return new Counted(Embeddings.of(sampleShape, timesteps, encoderHiddenStates));
    }

    @Override
    public void predictNoiseInto(FloatTensor sample, Conditioning conditioning, float[] eps) {
        Counted c = (Counted) conditioning;
        if (c.closed) throw new IllegalStateException("the conditioning was closed");
        Unet.super.predictNoiseInto(sample, c.inner, eps);
    }

    @Override
    public boolean acceptsResiduals() {
        return acceptsResiduals;
    }

    /**
     * The plain prediction plus a fixed function of each row's residuals: 0.5 x the first down
     * residual at the same position, 0.25 x the mean of the other down residuals of the row, and
     * the middle residual at the same spatial position. Zero residuals add exactly 0.
     */
    @Override
    public void predictNoiseInto(FloatTensor sample, Conditioning conditioning, ControlResiduals residuals, float[] eps) {
        if (!acceptsResiduals) Unet.super.predictNoiseInto(sample, conditioning, residuals, eps);
        residualCalls.add(new ControlResiduals(residuals.down().stream().map(FloatTensor::copy).toList(), residuals.mid().copy()));
        predictNoiseInto(sample, conditioning, eps);
        int rows = sample.rows(), rs = sample.rowSize();
        int plane = sample.dim(2) * sample.dim(3);
        float[] d0 = residuals.down().getFirst().data();
        float[] mid = residuals.mid().data();
        for (int r = 0; r < rows; r++) {
            float others = 0;
            int n = 0;
            for (FloatTensor t : residuals.down().subList(1, residuals.down().size())) {
                int trs = t.rowSize();
                for (int j = 0; j < trs; j++) others += t.data()[r * trs + j];
                n += trs;
            }
            float mean = n == 0 ? 0f : others / n;
            for (int i = 0; i < rs; i++) {
                int k = r * rs + i;
                eps[k] = eps[k] + (0.5f * d0[k] + 0.25f * mean + mid[r * plane + i % plane]);
            }
        }
    }

    /** Embeddings that count their closing. */
    private final class Counted implements Conditioning {
        final Embeddings inner;
        boolean closed;

        Counted(Embeddings inner) {
            this.inner = inner;
        }

        @Override
        public int[] sampleShape() {
            return inner.sampleShape();
        }

        @Override
        public boolean fits(long[] timesteps, FloatTensor sample) {
            return inner.fits(timesteps, sample);
        }

        @Override
        public void close() {
            if (!closed) released++;
            closed = true;
        }
    }

    @Override
    public int latentChannels() {
        return channels;
    }

    @Override
    public int crossAttentionDim() {
        return crossDim;
    }

    @Override
    public void close() {}
}
