package io.streamdiffusion4j.testing;

import io.streamdiffusion4j.model.ControlNet;
import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A ControlNet stand-in: each row's residuals are a fixed function of that row's sample,
 * timestep and control image, times the scale (so a mix-up of rows or control images shows).
 * Residuals: down 0 like the sample, down 1 (rows, 2, h, w), middle (rows, 1, h, w).
 */
public final class StandInControlNet implements ControlNet {
    public record Call(FloatTensor sample, long[] timesteps, FloatTensor controlImages, float scale) {}

    public final List<Call> calls = new ArrayList<>();
    private final float weight;
    public int closed;

    /** {@code weight} makes two stand-ins differ. */
    public StandInControlNet(float weight) {
        this.weight = weight;
    }

    @Override
    public ControlResiduals residuals(FloatTensor sample, long[] timesteps, FloatTensor h, FloatTensor control, float scale) {
        calls.add(new Call(sample.copy(), timesteps.clone(), control.copy(), scale));
        int rows = sample.rows(), rs = sample.rowSize();
        int plane = sample.dim(2) * sample.dim(3);
        int cs = control.rowSize();
        float[] d0 = new float[rows * rs];
        float[] d1 = new float[rows * 2 * plane];
        float[] mid = new float[rows * plane];
        for (int r = 0; r < rows; r++) {
            float c = 0;
            for (int j = 0; j < cs; j++) c += control.data()[r * cs + j];
            c = weight * c / cs;
            for (int i = 0; i < rs; i++) d0[r * rs + i] = scale * (0.1f * sample.data()[r * rs + i] + c + 0.001f * timesteps[r]);
            for (int i = 0; i < 2 * plane; i++) d1[r * 2 * plane + i] = scale * (c - 0.5f * i / plane);
            for (int i = 0; i < plane; i++) mid[r * plane + i] = scale * c * (i + 1) / plane;
        }
        int[] s = sample.shape();
        return new ControlResiduals(List.of(new FloatTensor(d0, s), new FloatTensor(d1, rows, 2, s[2], s[3])),
                new FloatTensor(mid, rows, 1, s[2], s[3]));
    }

    @Override
    public List<int[]> residualShapes(int[] s) {
        return List.of(s.clone(), new int[] {s[0], 2, s[2], s[3]}, new int[] {s[0], 1, s[2], s[3]});
    }

    @Override
    public void close() {
        closed++;
    }
}
