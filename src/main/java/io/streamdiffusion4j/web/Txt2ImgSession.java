package io.streamdiffusion4j.web;

import io.streamdiffusion4j.engine.EngineObserver;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One client's txt2img pipeline: images follow the prompt as the user types. Each change runs
 * the stream as many times as it has denoising steps (each image is the noise that entered n - 1
 * calls earlier, so after n calls the picture is wholly the new prompt's) and then the session
 * idles; a change that arrives meanwhile is picked up at the next call.
 */
final class Txt2ImgSession implements SessionPipeline {
    private final StreamFactory factory;
    private final StreamDiffusion stream;
    private final ImageCodec codec;
    private final Consumer<GeneratedFrame> output;
    private final Consumer<StreamSettings> applied;
    private final EngineObserver observer;
    private final Thread worker;
    private final Object lock = new Object();
    private StreamSettings current; // guarded by lock, as the three below
    private StreamSettings pending;
    private StyleChange style; // a style image to swap in before the next picture, or null
    private long version;
    private boolean closed;
    private volatile Throwable failure;
    private long seq; // the worker's own

    Txt2ImgSession(StreamFactory factory, StreamSettings initial, ImageCodec codec, Consumer<GeneratedFrame> output,
                   Consumer<StreamSettings> applied, EngineObserver observer) throws IOException {
        this.factory = factory;
        this.stream = factory.txt2img(initial);
        this.observer = observer;
        this.codec = codec;
        this.output = output;
        this.applied = applied;
        this.current = initial;
        this.pending = initial; // the first picture comes without waiting for a change
        this.worker = Thread.ofPlatform().daemon().name("sd4j-txt2img").unstarted(this::run);
    }

    /** Starts generating: the first picture, then one run per change. */
    void start() {
        worker.start();
    }

    /** Takes new settings; the worker applies them before its next model call. */
    void update(StreamSettings next) {
        synchronized (lock) {
            pending = next;
            lock.notifyAll();
        }
    }

    /** A style image's tokens (null: none) and who is told once they are in. */
    private record StyleChange(FloatTensor tokens, Runnable applied) {}

    /** Takes another style image, as its tokens (null: none); the worker swaps them in and draws again. */
    void updateStyle(FloatTensor tokens, Runnable applied) {
        synchronized (lock) {
            style = new StyleChange(tokens, applied);
            lock.notifyAll();
        }
    }

    StreamSettings settings() {
        synchronized (lock) {
            return pending != null ? pending : current;
        }
    }

    Optional<String> failure() {
        Throwable t = failure;
        return t == null ? Optional.empty() : Optional.of(t.getMessage() == null ? t.toString() : t.getMessage());
    }

    private void run() {
        try {
            int calls = stream.config().tIndexList().length;
            while (true) {
                StreamSettings next;
                StyleChange styleChange;
                long v;
                synchronized (lock) {
                    while (pending == null && style == null && !closed) lock.wait();
                    if (closed) return;
                    next = pending != null ? pending : current;
                    styleChange = style;
                    pending = null;
                    style = null;
                    v = ++version;
                }
                StreamSettings previous;
                synchronized (lock) {
                    previous = current;
                }
                factory.applyLive(previous, next, stream, false);
                if (styleChange != null) {
                    stream.updateStyleTokens(styleChange.tokens());
                    styleChange.applied().run();
                }
                synchronized (lock) {
                    current = next;
                }
                applied.accept(next);
                for (int i = 0; i < calls; i++) {
                    long callsBefore = stream.unetCalls();
                    long rowsBefore = stream.unetRows();
                    long t0 = System.nanoTime();
                    FloatTensor images = stream.txt2img();
                    StreamDiffusion.StageTimes times = stream.lastStageTimes();
                    observer.stage("unet", times.denoiseNanos());
                    observer.stage("decode", times.decodeNanos());
                    observer.unetCalls(stream.unetCalls() - callsBefore, stream.unetRows() - rowsBefore);
                    RgbImage rgb = ImagePostprocessor.toRgb(ImagePostprocessor.toUnitHwc(images, 0), images.dim(3), images.dim(2));
                    byte[] jpeg = codec.encodeJpeg(rgb, ImageSession.JPEG_QUALITY);
                    long nanos = System.nanoTime() - t0;
                    output.accept(new GeneratedFrame(++seq, v, jpeg, nanos));
                    observer.frameOut(nanos);
                    synchronized (lock) {
                        if (pending != null || style != null || closed) break; // the user typed on: follow at once
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            failure = t;
        }
    }

    /** Waits for the model call in progress, then releases the stream; the models stay loaded. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            if (worker.isAlive()) worker.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stream.close();
        }
    }
}
