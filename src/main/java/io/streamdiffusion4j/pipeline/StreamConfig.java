package io.streamdiffusion4j.pipeline;

import java.util.Arrays;

/**
 * How a stream is shaped; the parameters of the original {@code StreamDiffusion} constructor
 * and wrapper. Fixed for the life of a stream (changing them means a new {@link StreamDiffusion}).
 *
 * @param tIndexList indices into the LCM timestep schedule, one per denoising step; the first
 *     is where a new frame enters (smaller = more change), e.g. [32, 45]
 * @param width image width in pixels, a multiple of 8
 * @param height image height in pixels, a multiple of 8
 * @param frameBufferSize frames processed together per call ({@code frame_buffer_size})
 * @param doAddNoise re-noise the buffered latents with the fixed noise ({@code do_add_noise})
 * @param useDenoisingBatch Stream Batch (true) or the step-by-step loop (false)
 * @param cfgType guidance mode
 * @param seed the seed of all random draws (noise, similarity filter); negative when the stream
 *             is to pick a random one (the run configuration's -1). Seeds of 2^63 and more, which
 *             torch.manual_seed also takes (see {@link io.streamdiffusion4j.random.TorchSeed}), are
 *             set with {@link StreamDiffusion#updateSeed} after prepare.
 * @param similarFilter the Stochastic Similarity Filter settings
 */
public record StreamConfig(
        int[] tIndexList,
        int width,
        int height,
        int frameBufferSize,
        boolean doAddNoise,
        boolean useDenoisingBatch,
        CfgType cfgType,
        long seed,
        SimilarityFilterSettings similarFilter) {

    public StreamConfig {
        if (tIndexList == null || tIndexList.length == 0) {
            throw new IllegalArgumentException("t_index_list must have at least one entry");
        }
        for (int t : tIndexList) {
            if (t < 0) throw new IllegalArgumentException("t_index_list entries must be >= 0, found " + t);
        }
        tIndexList = tIndexList.clone();
        if (width <= 0 || width % 8 != 0) {
            throw new IllegalArgumentException("width must be a positive multiple of 8, found " + width);
        }
        if (height <= 0 || height % 8 != 0) {
            throw new IllegalArgumentException("height must be a positive multiple of 8, found " + height);
        }
        if (frameBufferSize < 1) {
            throw new IllegalArgumentException("frame_buffer_size must be >= 1, found " + frameBufferSize);
        }
        if (cfgType == null) throw new IllegalArgumentException("cfg_type must be set");
        if (similarFilter == null) similarFilter = SimilarityFilterSettings.DISABLED;
    }

    @Override
    public int[] tIndexList() {
        return tIndexList.clone();
    }

    /** Number of denoising steps n. */
    public int steps() {
        return tIndexList.length;
    }

    public int latentHeight() {
        return height / 8;
    }

    public int latentWidth() {
        return width / 8;
    }

    /** Rows of the denoising batch: n x f with Stream Batch, f without. */
    public int batchSize() {
        return useDenoisingBatch ? steps() * frameBufferSize : frameBufferSize;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().tIndexList(tIndexList).width(width).height(height)
                .frameBufferSize(frameBufferSize).doAddNoise(doAddNoise).useDenoisingBatch(useDenoisingBatch)
                .cfgType(cfgType).seed(seed).similarFilter(similarFilter);
    }

    @Override
    public String toString() {
        return "StreamConfig[t_index_list=" + Arrays.toString(tIndexList) + ", " + width + "x" + height
                + ", frame_buffer_size=" + frameBufferSize + ", do_add_noise=" + doAddNoise
                + ", use_denoising_batch=" + useDenoisingBatch + ", cfg_type=" + cfgType + ", seed=" + seed
                + ", similar_image_filter=" + similarFilter + "]";
    }

    /** Defaults as the original wrapper's: [32, 45], 512x512, f = 1, noise on, batch on, cfg self, seed 2. */
    public static final class Builder {
        private int[] tIndexList = {32, 45};
        private int width = 512;
        private int height = 512;
        private int frameBufferSize = 1;
        private boolean doAddNoise = true;
        private boolean useDenoisingBatch = true;
        private CfgType cfgType = CfgType.SELF;
        private long seed = 2;
        private SimilarityFilterSettings similarFilter = SimilarityFilterSettings.DISABLED;

        public Builder tIndexList(int... v) {
            tIndexList = v.clone();
            return this;
        }

        public Builder width(int v) {
            width = v;
            return this;
        }

        public Builder height(int v) {
            height = v;
            return this;
        }

        public Builder size(int w, int h) {
            width = w;
            height = h;
            return this;
        }

        public Builder frameBufferSize(int v) {
            frameBufferSize = v;
            return this;
        }

        public Builder doAddNoise(boolean v) {
            doAddNoise = v;
            return this;
        }

        public Builder useDenoisingBatch(boolean v) {
            useDenoisingBatch = v;
            return this;
        }

        public Builder cfgType(CfgType v) {
            cfgType = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder similarFilter(SimilarityFilterSettings v) {
            similarFilter = v;
            return this;
        }

        /** Turns the Stochastic Similarity Filter on ({@code enable_similar_image_filter}). */
        public Builder similarImageFilter(double threshold, int maxSkipFrame) {
            similarFilter = new SimilarityFilterSettings(true, threshold, maxSkipFrame);
            return this;
        }

        public StreamConfig build() {
            return new StreamConfig(tIndexList, width, height, frameBufferSize, doAddNoise, useDenoisingBatch,
                    cfgType, seed, similarFilter);
        }
    }
}
