package io.streamdiffusion4j.bench;

/**
 * What one measured frame cost, in nanoseconds per stage, and the bytes the benchmark thread
 * allocated. {@code unet} is the time inside ONNX Runtime's UNet runs; {@code denoise} is the
 * rest of the denoising step (the Stream Batch and RCFG arithmetic around the UNet).
 *
 * @param allocatedInCall bytes allocated inside the pipeline call (img2img) alone
 * @param allocatedInFrame bytes allocated for the whole frame, pre- and postprocessing included
 */
public record FrameSample(long preprocess, long text, long encode, long unet, long denoise, long decode, long postprocess,
                          long total, long modelRuntime, long unetRows, long allocatedInCall, long allocatedInFrame,
                          boolean skipped) {
}
