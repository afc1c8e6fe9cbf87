package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.model.ControlNet;
import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ControlNets of a stream, each with its own conditioning scale, changeable live: a scale of
 * 0 turns one off without unloading it, and it is then not run at all. Per UNet call it runs the
 * ControlNets whose scale is not 0 on the call's rows and adds up their residuals (diffusers'
 * {@code MultiControlNetModel}); with none on, the UNet gets zero residuals, which leave its
 * prediction exactly as without a ControlNet.
 *
 * <p>Not thread-safe, like the stream that owns it; live changes arrive on the model thread.
 */
public final class ControlNets implements AutoCloseable {
    private final List<ControlNet> nets;
    private final double[] scales;
    private final boolean owns;
    private ControlResiduals sum;
    private ControlResiduals zeros;
    private int[] zerosFor;
    private long calls;
    private int appendedRows;      // rows after each prompt embedding that are not the prompt's (an IP-Adapter's)
    private FloatTensor promptOnly; // reused: the embeddings without them

    /**
     * @param owns whether closing this closes the ControlNets (the builder loaded them)
     */
    public ControlNets(List<ControlNet> nets, double[] scales, boolean owns) {
        if (nets.isEmpty()) throw new IllegalArgumentException("no ControlNet");
        if (nets.size() != scales.length) throw new IllegalArgumentException(nets.size() + " ControlNets, " + scales.length + " scales");
        if (nets.size() > LiveSettingsLimits.MAX_CONTROLNETS) {
            throw new IllegalArgumentException("at most " + LiveSettingsLimits.MAX_CONTROLNETS + " ControlNets, found " + nets.size());
        }
        this.nets = List.copyOf(nets);
        this.scales = new double[scales.length];
        for (int i = 0; i < scales.length; i++) this.scales[i] = LiveSettingsLimits.CONTROLNET_SCALE.check(scales[i]);
        this.owns = owns;
    }

    public int size() {
        return nets.size();
    }

    /** The scale of ControlNet {@code index} (0-based). */
    public double scale(int index) {
        checkIndex(index);
        return scales[index];
    }

    public double[] scales() {
        return scales.clone();
    }

    /** Changes one ControlNet's scale from the next UNet call on (0: off, not run). */
    public void setScale(int index, double scale) {
        checkIndex(index);
        scales[index] = LiveSettingsLimits.CONTROLNET_SCALE.check(scale);
    }

    private void checkIndex(int index) {
        if (index < 0 || index >= nets.size()) {
            throw new IllegalArgumentException("controlnet index must be in [0, " + (nets.size() - 1) + "], found " + index);
        }
    }

    /**
     * The UNet's embeddings carry {@code rows} more rows after each prompt embedding (an
     * IP-Adapter's image tokens and scale row, {@link IpAdapterStyle#appendedRows}): the ControlNets
     * take the prompt's rows only, as diffusers passes them {@code prompt_embeds} while the image
     * embeddings go to the UNet alone.
     */
    void skipAppendedRows(int rows) {
        if (rows < 0) throw new IllegalArgumentException("appended rows must be >= 0, found " + rows);
        appendedRows = rows;
    }

    /** {@code embeddings} (B, L + appended, D) without the appended rows; itself when there are none. */
    private FloatTensor promptRows(FloatTensor embeddings) {
        if (appendedRows == 0) return embeddings;
        int rows = embeddings.dim(0);
        int length = embeddings.dim(1) - appendedRows;
        int dim = embeddings.dim(2);
        if (length < 1) {
            throw new IllegalArgumentException("embeddings of " + embeddings.dim(1) + " rows, but " + appendedRows
                    + " of them are the IP-Adapter's");
        }
        if (promptOnly == null || promptOnly.dim(0) != rows || promptOnly.dim(1) != length || promptOnly.dim(2) != dim) {
            promptOnly = new FloatTensor(new float[rows * length * dim], rows, length, dim);
        }
        float[] from = embeddings.data();
        float[] to = promptOnly.data();
        int full = embeddings.dim(1) * dim;
        for (int r = 0; r < rows; r++) System.arraycopy(from, r * full, to, r * length * dim, length * dim);
        return promptOnly;
    }

    /** Whether any ControlNet is on (scale not 0). */
    public boolean anyActive() {
        for (double s : scales) if (s != 0) return true;
        return false;
    }

    /**
     * The summed residuals of the active ControlNets for one UNet call's rows (zeros when none is
     * on). The result is reused by the next call: use it before calling again.
     */
    ControlResiduals residuals(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates, FloatTensor controlImages) {
        boolean first = true;
        FloatTensor prompt = null;
        for (int i = 0; i < nets.size(); i++) {
            if (scales[i] == 0) continue;
            if (prompt == null) prompt = promptRows(encoderHiddenStates);
            ControlResiduals r = nets.get(i).residuals(sample, timesteps, prompt, controlImages, (float) scales[i]);
            calls++;
            if (first) {
                if (sum == null || !sum.sameShapes(r)) sum = ControlResiduals.zeros(r.shapes());
                sum.copyFrom(r);
                first = false;
            } else {
                sum.add(r);
            }
        }
        if (!first) return sum;
        int[] shape = sample.shape();
        if (zeros == null || !Arrays.equals(zerosFor, shape)) {
            zeros = ControlResiduals.zeros(nets.getFirst().residualShapes(shape));
            zerosFor = shape;
        }
        return zeros;
    }

    /** ControlNet calls made so far (one per active ControlNet per UNet call). */
    public long calls() {
        return calls;
    }

    public List<ControlNet> nets() {
        return new ArrayList<>(nets);
    }

    @Override
    public void close() {
        if (!owns) return;
        for (ControlNet n : nets) n.close();
    }
}
