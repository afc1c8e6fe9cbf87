package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.ControlNet;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OrtUnet;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An arm that streams frames through one {@link StreamDiffusion} configuration. Its UNet calls
 * go through a {@link CountingUnet}; on ONNX Runtime the arm gets the shared session with
 * buffers of its own ({@link OrtUnet#withOwnBuffers}), so arms with other batch shapes do not
 * make it reallocate. A frame is timed like a caller sees it: preprocess, img2img, postprocess.
 */
final class StreamArm implements Arm {
    private final String name;
    private final StreamConfig config;
    private final CountingUnet unet;
    private final StreamDiffusion stream;
    private final FloatTensor out;
    private List<RgbImage> lastImages = List.of();

    StreamArm(String name, StableDiffusionModels models, StreamConfig config, RunConfig run) {
        this(name, models, config, run, b -> b);
    }

    /**
     * A stream with one ControlNet at {@code scale} (null: none); its control images are made
     * before the frame is timed, as the real-time engine makes them on its input thread.
     */
    StreamArm(String name, StableDiffusionModels models, StreamConfig config, RunConfig run, ControlNet controlNet, double scale,
              ControlPreprocessor preprocessor) {
        this(name, models, config, run,
                b -> controlNet == null ? b : b.controlNet(controlNet, scale).controlPreprocessor(preprocessor));
    }

    /** @param extra adds to the stream's builder (a ControlNet; an IP-Adapter's image encoder and style image) */
    StreamArm(String name, StableDiffusionModels models, StreamConfig config, RunConfig run,
              java.util.function.UnaryOperator<StreamDiffusion.Builder> extra) {
        this.name = name;
        this.config = config;
        this.unet = models.unet() instanceof OrtUnet ort ? new CountingUnet(ort.withOwnBuffers(), true)
                : new CountingUnet(models.unet(), false);
        StableDiffusionModels counted = new StableDiffusionModels(models.tokenizer(), models.textEncoder(), unet, models.vae(),
                models.schedulerConfig(), models.description());
        StreamDiffusion s = null;
        try {
            s = extra.apply(run.streamBuilder().models(counted).config(config)).build();
            s.prepare(run.promptBlend(), run.negativePrompt(), run.numInferenceSteps(), run.guidanceScale(), run.delta());
        } catch (IOException | RuntimeException e) {
            if (s != null) s.close();
            unet.close();
            // the models are given, so nothing is read from disk here: an IOException cannot really come
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        this.stream = s;
        // one output tensor for the whole run, as the real-time engine recycles its own
        this.out = FloatTensor.zeros(config.frameBufferSize(), 3, config.height(), config.width());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String config() {
        return StreamRunner.describe(config);
    }

    @Override
    public ArmFrame run(RgbImage input) {
        List<RgbImage> batch = new ArrayList<>(config.frameBufferSize());
        for (int k = 0; k < config.frameBufferSize(); k++) batch.add(input);
        FloatTensor control = stream.controlImages(batch);
        CountingUnet.Tally before = unet.tally();
        long t0 = System.nanoTime();
        FloatTensor in = stream.preprocessor().toTensor(batch);
        stream.img2imgInto(in, control, out);
        List<RgbImage> images = ImagePostprocessor.toRgbImages(out);
        long t1 = System.nanoTime();
        if (images.size() != batch.size()) throw new IllegalStateException("expected " + batch.size() + " images, got " + images.size());
        lastImages = images;
        return new ArmFrame(t1 - t0, unet.nanosSince(before), unet.rowsSince(before));
    }

    /** The images of the last frame, as the decoder gave them (f, 3, H, W). */
    FloatTensor lastOutput() {
        return out;
    }

    /** The images of the last frame (for comparing the outputs of arms, as the quality experiments do). */
    List<RgbImage> lastImages() {
        return lastImages;
    }

    @Override
    public void close() {
        try (CountingUnet u = unet) {
            stream.close();
        }
    }
}
