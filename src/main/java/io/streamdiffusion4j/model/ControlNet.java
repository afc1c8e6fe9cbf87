package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;

/**
 * A ControlNet as the stream uses it: for the rows of one UNet call (each with its own sample,
 * timestep, prompt embedding and control image) it gives the residuals the UNet adds to its
 * skip connections and middle block, already multiplied by {@code scale}.
 */
public interface ControlNet extends AutoCloseable {

    /**
     * @param sample the UNet call's noisy latents, (rows, channels, h, w)
     * @param timesteps one per row
     * @param encoderHiddenStates prompt embeddings, (rows, sequence, crossAttentionDim)
     * @param controlImages one control image per row, (rows, 3, H, W) in [0, 1], H and W the image size (8 h, 8 w)
     * @param scale the conditioning scale the residuals are multiplied by
     */
    ControlResiduals residuals(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates,
                               FloatTensor controlImages, float scale);

    /**
     * The shapes of the residuals for samples of {@code sampleShape} (down blocks, then the middle
     * block), so a stream whose ControlNets are all at scale 0 can hand the UNet zeros without
     * running any of them.
     */
    List<int[]> residualShapes(int[] sampleShape);

    @Override
    void close();
}
