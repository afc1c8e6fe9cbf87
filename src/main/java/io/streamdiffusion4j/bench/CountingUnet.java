package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A UNet that counts what the pipeline really asks of the model: every call, its batch rows
 * and the time it took, measured at the model interface (so rows and calls per frame are
 * observed, never derived from the configuration). Calls are counted one at a time, so streams on
 * several threads may share it (the models take turns on their buffers anyway).
 */
final class CountingUnet implements Unet {
    private final Unet delegate;
    private final boolean closeDelegate;
    private final List<Integer> rowsOfCalls = new ArrayList<>();
    private long nanos;

    /** @param closeDelegate whether closing this closes the delegate (false when the delegate is shared) */
    CountingUnet(Unet delegate, boolean closeDelegate) {
        this.delegate = delegate;
        this.closeDelegate = closeDelegate;
    }

    /** What has been counted so far; subtract an earlier tally to get one frame's calls. */
    record Tally(int calls, long nanos) {}

    synchronized Tally tally() {
        return new Tally(rowsOfCalls.size(), nanos);
    }

    /** The batch rows of each call made since {@code earlier}, in call order. */
    synchronized int[] rowsSince(Tally earlier) {
        return rowsOfCalls.subList(earlier.calls(), rowsOfCalls.size()).stream().mapToInt(Integer::intValue).toArray();
    }

    synchronized long nanosSince(Tally earlier) {
        return nanos - earlier.nanos();
    }

    @Override
    public synchronized FloatTensor predictNoise(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates) {
        long t0 = System.nanoTime();
        FloatTensor out = delegate.predictNoise(sample, timesteps, encoderHiddenStates);
        count(sample, t0);
        return out;
    }

    @Override
    public synchronized void predictNoiseInto(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates, float[] eps) {
        long t0 = System.nanoTime();
        delegate.predictNoiseInto(sample, timesteps, encoderHiddenStates, eps);
        count(sample, t0);
    }

    @Override
    public Conditioning prepare(int[] sampleShape, long[] timesteps, FloatTensor encoderHiddenStates) {
        return delegate.prepare(sampleShape, timesteps, encoderHiddenStates);
    }

    @Override
    public synchronized void predictNoiseInto(FloatTensor sample, Conditioning conditioning, float[] eps) {
        long t0 = System.nanoTime();
        delegate.predictNoiseInto(sample, conditioning, eps);
        count(sample, t0);
    }

    @Override
    public boolean acceptsResiduals() {
        return delegate.acceptsResiduals();
    }

    @Override
    public void predictNoiseInto(FloatTensor sample, Conditioning conditioning, ControlResiduals residuals, float[] eps) {
        long t0 = System.nanoTime();
        delegate.predictNoiseInto(sample, conditioning, residuals, eps);
        count(sample, t0);
    }

    private synchronized void count(FloatTensor sample, long startNanos) {
        nanos += System.nanoTime() - startNanos;
        rowsOfCalls.add(sample.rows());
    }

    @Override
    public int latentChannels() {
        return delegate.latentChannels();
    }

    @Override
    public int crossAttentionDim() {
        return delegate.crossAttentionDim();
    }

    @Override
    public void close() {
        if (closeDelegate) delegate.close();
    }
}
