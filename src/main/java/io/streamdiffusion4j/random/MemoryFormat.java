package io.streamdiffusion4j.random;

/**
 * How a torch tensor lays out its values in memory, as far as it changes what
 * {@code torch.randn_like} draws: torch fills a float tensor with its 16-wide vectorised normal
 * sampler only when the tensor is contiguous, and otherwise draws one double-precision sample per
 * value in memory order (see {@link TorchGenerator#randnLike}). The values of an NCHW tensor are
 * the same in either format; only the draw order differs.
 */
public enum MemoryFormat {
    /** Row-major NCHW ({@code torch.contiguous_format}): what {@code torch.randn(shape)} makes. */
    CONTIGUOUS,
    /**
     * NHWC in memory with NCHW indices ({@code torch.channels_last}): what a PIL image becomes
     * through diffusers' {@code VaeImageProcessor} ({@code from_numpy(x.transpose(0, 3, 1, 2))}),
     * and what convolutions and element-wise operations keep.
     */
    CHANNELS_LAST
}
