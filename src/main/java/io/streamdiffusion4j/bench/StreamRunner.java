package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OrtUnet;
import io.streamdiffusion4j.onnx.RunStats;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Streams frames through one {@link StreamDiffusion} configuration and times every stage:
 * preprocess (resize, to tensor), VAE encode, UNet (inside ONNX Runtime), the rest of the
 * denoising step, VAE decode, postprocess (to 8-bit RGB). Warm-up frames run first and are not counted.
 */
final class StreamRunner {
    private final StableDiffusionModels models;
    private final RunConfig run;

    StreamRunner(StableDiffusionModels models, RunConfig run) {
        this.models = models;
        this.run = run;
    }

    /**
     * @param between runs after every measured frame (for example the raw model calls that the
     *     overhead comparison interleaves), outside the frame's time
     */
    RunSummary measure(String name, StreamConfig config, List<RgbImage> input, int warmup, int frames, Runnable between)
            throws IOException {
        int f = config.frameBufferSize();
        List<FrameSample> samples = new ArrayList<>(frames);
        try (StreamDiffusion stream = run.streamBuilder().models(models).config(config).build()) {
            stream.prepare(run.promptBlend(), run.negativePrompt(), run.numInferenceSteps(), run.guidanceScale(), run.delta());
            int next = 0;
            // one output tensor for the whole run, as the real-time engine recycles its own
            FloatTensor out = FloatTensor.zeros(f, 3, config.height(), config.width());
            for (int i = 0; i < warmup + frames; i++) {
                List<RgbImage> batch = new ArrayList<>(f);
                for (int k = 0; k < f; k++) batch.add(input.get(next++ % input.size()));
                FrameSample s = frame(stream, batch, out);
                if (i >= warmup) {
                    samples.add(s);
                    if (between != null) between.run();
                }
            }
        }
        return new RunSummary(name, describe(config), samples);
    }

    private FrameSample frame(StreamDiffusion stream, List<RgbImage> batch, FloatTensor out) {
        RunStats unet = unetStats();
        RunStats before = unet == null ? null : unet.snapshot();
        LongSupplier modelNanos = ModelTime.of(models);
        long modelBefore = modelNanos.getAsLong();
        long frameAlloc = ProcessStats.allocatedBytes();
        long t0 = System.nanoTime();
        FloatTensor in = stream.preprocessor().toTensor(batch);
        long t1 = System.nanoTime();
        long callAlloc = ProcessStats.allocatedBytes();
        stream.img2imgInto(in, out);
        long callAllocated = ProcessStats.allocatedBytes() - callAlloc;
        long t2 = System.nanoTime();
        List<RgbImage> images = ImagePostprocessor.toRgbImages(out);
        long t3 = System.nanoTime();
        long frameAllocated = ProcessStats.allocatedBytes() - frameAlloc;
        if (images.size() != batch.size()) throw new IllegalStateException("expected " + batch.size() + " images, got " + images.size());
        boolean skipped = stream.lastFrameSkipped();
        StreamDiffusion.StageTimes st = stream.lastStageTimes();
        long unetNanos = before == null ? 0 : unet.nanosSince(before);
        long rows = before == null ? 0 : unet.rowsSince(before);
        long encode = skipped ? 0 : st.encodeNanos();
        long denoise = skipped ? 0 : Math.max(0, st.denoiseNanos() - unetNanos);
        long decode = skipped ? 0 : st.decodeNanos();
        return new FrameSample(t1 - t0, 0, encode, unetNanos, denoise, decode, t3 - t2, t3 - t0,
                modelNanos.getAsLong() - modelBefore, rows, callAllocated, frameAllocated, skipped);
    }

    private RunStats unetStats() {
        return models.unet() instanceof OrtUnet u ? u.runStats() : null;
    }

    static String describe(StreamConfig c) {
        return c.width() + "x" + c.height() + ", t_index_list " + java.util.Arrays.toString(c.tIndexList()) + ", cfg "
                + c.cfgType() + ", " + (c.useDenoisingBatch() ? "stream batch" : "sequential") + ", frame_buffer_size "
                + c.frameBufferSize() + (c.similarFilter().enabled() ? ", similarity filter " + c.similarFilter() : "");
    }
}
