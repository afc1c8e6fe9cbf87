package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Runs the models of a stream on inputs of the stream's shapes before its first frame, so the
 * first frame a user sees costs what a steady one does. With dynamic shapes ONNX Runtime plans
 * and allocates on the first runs of a shape (and the pinned outputs of our model classes are
 * bound on the second), which made the first two frames 1.7-2.3x slower than the rest.
 *
 * <p>Only the models are called, with zero inputs and scratch arrays: the stream's buffers,
 * noise, random generators, similarity filter and UNet call count are not touched, so every
 * output is the same as without warm-up. The models are shared by every stream built on them
 * (a server's sessions), so one {@code Warmup} per loaded models remembers the shapes it has
 * warmed and warms each only once.
 */
public final class Warmup {
    /**
     * Runs of each model per shape. Measured on the tiny model and the full-size TAESD at
     * 256x256 and 512x512 (docs/PERFORMANCE.md): after one run the next is still slow (ONNX
     * Runtime's first run with pinned outputs), after two the frames are steady.
     */
    public static final int RUNS = 2;

    /** The inputs of one stream configuration: what the models see per frame. */
    public record Shape(Mode mode, int frames, int unetRows, int decodeRows, int width, int height) {
        /** The shapes {@code stream} feeds its models (it must be prepared). */
        public static Shape of(StreamDiffusion stream) {
            StreamConfig c = stream.config();
            Guidance g = Objects.requireNonNull(stream.guidance(), "call prepare() before warming up");
            return new Shape(stream.mode(), c.frameBufferSize(), StreamBatch.unetRows(c, g), c.frameBufferSize(), c.width(),
                    c.height());
        }

        /** The same with another number of decoded rows (txt2img's sd_turbo path decodes every batch row). */
        public Shape withDecodeRows(int rows) {
            return new Shape(mode, frames, unetRows, rows, width, height);
        }
    }

    /** What one warm-up did: the model calls made and how long they took (0 calls: already warm). */
    public record Report(int calls, long nanos) {
        public boolean ran() {
            return calls > 0;
        }

        public double seconds() {
            return nanos / 1e9;
        }
    }

    private final StableDiffusionModels models;
    private final int runs;
    private final Set<Shape> warmed = new HashSet<>();

    public Warmup(StableDiffusionModels models) {
        this(models, RUNS);
    }

    public Warmup(StableDiffusionModels models, int runs) {
        if (runs < 0) throw new IllegalArgumentException("warm-up runs must be >= 0, found " + runs);
        this.models = Objects.requireNonNull(models, "models");
        this.runs = runs;
    }

    /** Warms the models for {@code stream}'s shapes unless already done; the stream must be built on these models. */
    public Report ensure(StreamDiffusion stream) {
        return ensure(stream, Shape.of(stream));
    }

    /** Warms the models for {@code shape} unless already done. */
    public synchronized Report ensure(StreamDiffusion stream, Shape shape) {
        if (stream.models() != models) throw new IllegalArgumentException("the stream runs on other models than this warm-up's");
        if (runs == 0 || !warmed.add(shape)) return new Report(0, 0);
        long start = System.nanoTime();
        int calls = 0;
        int channels = models.unet().latentChannels();
        int lh = shape.height() / 8;
        int lw = shape.width() / 8;
        FloatTensor images = FloatTensor.zeros(shape.frames(), 3, shape.height(), shape.width());
        int latentValues = Math.toIntExact((long) shape.frames() * channels * lh * lw);
        float[] mean = new float[latentValues];
        float[] std = new float[latentValues];
        FloatTensor sample = FloatTensor.zeros(shape.unetRows(), channels, lh, lw);
        long[] timesteps = new long[shape.unetRows()];
        Arrays.fill(timesteps, stream.streamBatch().coefficients().timesteps()[0]);
        FloatTensor hidden = FloatTensor.zeros(shape.unetRows(), models.textEncoder().embeddingLength(),
                models.unet().crossAttentionDim());
        float[] eps = new float[sample.size()];
        FloatTensor latents = FloatTensor.zeros(shape.decodeRows(), channels, lh, lw);
        float[] decoded = new float[shape.decodeRows() * 3 * shape.height() * shape.width()];
        for (int r = 0; r < runs; r++) {
            if (shape.mode() == Mode.IMG2IMG) {
                models.vae().encoder().encodeInto(images, mean, std);
                calls++;
            }
            ControlNets control = stream.controlNets();
            if (control == null) {
                models.unet().predictNoiseInto(sample, timesteps, hidden, eps);
            } else {
                // a UNet with residual inputs, and each ControlNet once
                FloatTensor controlImages = FloatTensor.zeros(shape.unetRows(), 3, shape.height(), shape.width());
                for (io.streamdiffusion4j.model.ControlNet net : control.nets()) {
                    net.residuals(sample, timesteps, hidden, controlImages, 1f);
                    calls++;
                }
                var zeros = io.streamdiffusion4j.model.ControlResiduals.zeros(control.nets().getFirst().residualShapes(sample.shape()));
                try (var c = models.unet().prepare(sample.shape(), timesteps, hidden)) {
                    models.unet().predictNoiseInto(sample, c, zeros, eps);
                }
            }
            models.vae().decoder().decodeInto(latents, decoded);
            calls += 2;
        }
        return new Report(calls, System.nanoTime() - start);
    }
}
