package io.streamdiffusion4j.web;

import io.streamdiffusion4j.engine.Frame;
import io.streamdiffusion4j.engine.FrameSink;
import io.streamdiffusion4j.engine.StreamEngine;
import io.streamdiffusion4j.engine.Telemetry;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One client's img2img pipeline: its own prepared stream on the shared models, run by a
 * {@link StreamEngine} (decode/preprocess, model and encode on three threads) whose source is
 * what the client pushes and whose sink hands JPEGs back to the client's socket.
 */
final class ImageSession implements SessionPipeline {
    static final int JPEG_QUALITY = 85;
    static final long FINISH_MILLIS = 30_000;

    private final StreamFactory factory;
    private final StreamDiffusion stream;
    private final StreamEngine engine;
    private final LiveFrameSource source;
    private final ImageCodec codec;
    private final Consumer<GeneratedFrame> output;
    private final Consumer<StreamSettings> applied;
    private final AtomicLong outputs = new AtomicLong();
    private volatile StreamSettings settings;
    private volatile boolean closing;
    private volatile boolean closed;

    /**
     * @param output called on the engine's writer thread with each image, in input order
     * @param applied called on the model thread once a settings change is in the pipeline
     * @param metrics the server's totals, told of this session's frames
     */
    ImageSession(StreamFactory factory, StreamSettings initial, ImageCodec codec, Consumer<GeneratedFrame> output,
                 Consumer<StreamSettings> applied, ServerMetrics metrics) throws IOException {
        this.source = new LiveFrameSource(2, () -> metrics.dropped(FrameMetrics.REPLACED, 1));
        this.codec = codec;
        this.output = output;
        this.settings = initial;
        this.factory = factory;
        this.stream = factory.img2img(initial);
        this.applied = applied;
        try {
            // Queue policies are explicit: the source already keeps only the newest frame and lets
            // two in, so the engine must neither drop inputs nor outputs (that keeps outputs
            // matched to inputs).
            engine = new StreamEngine(stream, source, new Sink(),
                    new StreamEngine.Options(StreamEngine.InputPolicy.ALL, StreamEngine.OutputPolicy.BLOCK, 4), metrics.frames());
            engine.start();
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    /** Offers a decoded frame (newest wins). */
    void submit(RgbImage image, long seq) {
        source.offer(new Frame(seq, System.nanoTime(), image));
    }

    /** Moves the session to new settings from the next frame on, without reloading anything. */
    void update(StreamSettings next) {
        StreamSettings previous = settings;
        settings = next;
        engine.control(s -> {
            factory.applyLive(previous, next, s, true);
            applied.accept(next);
        });
    }

    /**
     * Moves the session to another style image, given as its tokens (null: none; encoded by the
     * caller, off the model thread), from the next frame on; {@code applied} runs once it is in.
     */
    void updateStyle(FloatTensor tokens, Runnable applied) {
        engine.control(s -> {
            s.updateStyleTokens(tokens);
            applied.run();
        });
    }

    StreamSettings settings() {
        return settings;
    }

    Telemetry telemetry() {
        return engine.telemetry();
    }

    /** Frames the client sent that a newer one replaced before the model took them. */
    long replacedFrames() {
        return source.replaced();
    }

    /** Why the pipeline stopped on its own (a model error), if it did. */
    Optional<String> failure() {
        if (closing || !engine.isFinished()) return Optional.empty();
        try {
            engine.awaitEnd(0);
            return Optional.of("the stream ended");
        } catch (Exception e) {
            return Optional.of(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /**
     * Lets the frames the client sent run through (the source takes no more, the engine ends when
     * they are out), then closes. At most {@link #FINISH_MILLIS}: the engine holds two frames, so
     * that is two model calls.
     */
    @Override
    public void finishAndClose() {
        closing = true;
        source.close();
        try {
            engine.awaitEnd(FINISH_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // the pipeline's own failure: close() below reports it
        }
        close();
    }

    /** Stops the engine (the frame in the model is finished) and releases the stream; the models stay loaded. */
    @Override
    public void close() {
        closing = true;
        try {
            engine.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // the pipeline's own failure, already reported to the client by the status timer
            throw new IllegalStateException("the stream had failed: " + e.getMessage(), e);
        } finally {
            stream.close();
            closed = true;
        }
    }

    /** Whether {@link #close} is done: every output the pipeline made has been handed on. */
    boolean closed() {
        return closed;
    }

    /** Encodes each output and hands it on with the input frame it came from. */
    private final class Sink implements FrameSink {
        @Override
        public void accept(RgbImage image, long index) throws IOException {
            LiveFrameSource.Released in = source.completed();
            byte[] jpeg = codec.encodeJpeg(image, JPEG_QUALITY);
            output.accept(new GeneratedFrame(outputs.incrementAndGet(), in.seq(), jpeg, System.nanoTime() - in.arrivedNanos()));
        }

        @Override
        public boolean lossless() {
            return false;
        }

        @Override
        public String describe() {
            return "web client";
        }

        @Override
        public void close() {
            // the socket belongs to the session's handler
        }
    }
}
