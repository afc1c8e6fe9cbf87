package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.ImagePreprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The paper's input/output queue: a stream of frames through the pipeline on three threads.
 *
 * <pre>
 *   reader:  source -> decode -> resize, [-1, 1] tensor  --input queue-->
 *   model:   (live changes) -> StreamDiffusion.img2img      --output queue-->
 *   writer:  clamp, 8-bit -> encode -> sink
 * </pre>
 *
 * The model thread never waits on I/O: decoding and encoding happen on the other two. With a
 * live source the input queue keeps only the newest frames (older ones are dropped and counted);
 * a file source delivers every frame. On the output side a lossless sink (a file) may hold the
 * model back, a lossy one (a preview) drops the oldest outputs instead. Live changes (prompt,
 * guidance, t_index_list, seed, filter) are applied by the model thread between frames.
 */
public final class StreamEngine implements AutoCloseable {

    /** What happens to input frames when the model is busy. */
    public enum InputPolicy {
        /** Keep the newest frames, drop older ones (live sources). */
        LATEST,
        /** Keep every frame; the reader waits (files). */
        ALL
    }

    /** What happens to outputs when the sink is slower than the model. */
    public enum OutputPolicy {
        /** Drop the oldest waiting outputs: the model never waits. */
        DROP,
        /** Wait for the sink: every output is written (files). */
        BLOCK
    }

    /** Queue policies; null picks the default from the source and sink. */
    public record Options(InputPolicy input, OutputPolicy output, int outputCapacity) {
        public static Options defaults() {
            return new Options(null, null, 4);
        }
    }

    /**
     * A frame from the source and its tensor (and control image, with ControlNets), or null when
     * it is still to be preprocessed.
     */
    private record Input(Frame frame, FloatTensor tensor, FloatTensor control) {}

    private record Output(List<Frame> frames, FloatTensor images, boolean end) {}

    private final StreamDiffusion stream;
    private final FrameSource source;
    private final FrameSink sink;
    private final InputPolicy inputPolicy;
    private final OutputPolicy outputPolicy;
    private final int outputCapacity;
    private final ImagePreprocessor preprocessor;
    private final EngineObserver observer;

    private final ArrayDeque<Input> inputs = new ArrayDeque<>();
    private final ArrayDeque<Output> outputs = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<Consumer<StreamDiffusion>> changes = new ConcurrentLinkedQueue<>();
    /** Output tensors the writer is done with, reused by the model thread: no allocation per frame. */
    private final ConcurrentLinkedQueue<FloatTensor> freeOutputs = new ConcurrentLinkedQueue<>();
    private boolean inputEnded;
    private volatile boolean stopping;
    private volatile Throwable failure;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final List<Thread> threads = new ArrayList<>();

    private final AtomicLong framesIn = new AtomicLong();
    private final AtomicLong framesProcessed = new AtomicLong();
    private final AtomicLong framesOut = new AtomicLong();
    private final AtomicLong droppedInput = new AtomicLong();
    private final AtomicLong droppedOutput = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private final RateMeter inputRate = new RateMeter();
    private final RateMeter outputRate = new RateMeter();
    private final Map<String, LatencyStats> stages = new LinkedHashMap<>();
    private final LatencyStats glassToGlass = new LatencyStats(256);
    /** Model time of every call (img2img, frames skipped by the filter included) and of the first call alone. */
    private final LatencyStats frameModel = new LatencyStats(256);
    private volatile long firstFrameModelNanos = -1;
    // when the first and the latest output reached the sink: the whole-run rate, written by the writer thread only
    private volatile long firstOutNanos = -1;
    private volatile long lastOutNanos = -1;

    public StreamEngine(StreamDiffusion stream, FrameSource source, FrameSink sink, Options options) {
        this(stream, source, sink, options, EngineObserver.NONE);
    }

    /** @param observer told of every frame counted and stage timed, besides this engine's {@link #telemetry()} */
    public StreamEngine(StreamDiffusion stream, FrameSource source, FrameSink sink, Options options, EngineObserver observer) {
        this.stream = stream;
        this.observer = observer;
        this.source = source;
        this.sink = sink;
        this.inputPolicy = options.input() != null ? options.input() : (source.live() ? InputPolicy.LATEST : InputPolicy.ALL);
        this.outputPolicy = options.output() != null ? options.output() : (sink.lossless() ? OutputPolicy.BLOCK : OutputPolicy.DROP);
        this.outputCapacity = Math.max(1, options.outputCapacity());
        this.preprocessor = new ImagePreprocessor(stream.config().width(), stream.config().height());
        for (String s : List.of("preprocess", "encode", "unet", "decode", "postprocess")) stages.put(s, new LatencyStats(256));
    }

    /** Starts the three threads. The stream must be prepared. */
    public synchronized void start() {
        if (!threads.isEmpty()) throw new IllegalStateException("already started");
        threads.add(Thread.ofPlatform().name("sd4j-reader").daemon().start(guard(this::readLoop)));
        threads.add(Thread.ofPlatform().name("sd4j-model").daemon().start(guard(this::modelLoop)));
        threads.add(Thread.ofPlatform().name("sd4j-writer").daemon().start(guard(this::writeLoop)));
    }

    private Runnable guard(ThrowingRunnable body) {
        return () -> {
            try {
                body.run();
            } catch (Throwable t) {
                fail(t);
                synchronized (inputs) {
                    inputs.notifyAll();
                }
                synchronized (outputs) {
                    outputs.addLast(new Output(List.of(), null, true));
                    outputs.notifyAll();
                }
            }
        };
    }

    /** Records the first failure and stops the stream. */
    private void fail(Throwable t) {
        synchronized (this) {
            if (failure == null) failure = t;
        }
        stopping = true;
    }

    /** A source error is a failure unless the stream was stopping: a source closed under a blocked read throws. */
    private void failSource(Throwable t) {
        synchronized (this) {
            if (failure == null && !stopping) failure = t;
        }
        stopping = true;
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    // ---- reader ----------------------------------------------------------------------------------

    private void readLoop() throws Exception {
        int f = stream.config().frameBufferSize();
        try {
            while (!stopping) {
                Frame frame = source.next();
                if (frame == null) break;
                framesIn.incrementAndGet();
                observer.frameIn();
                inputRate.mark(System.nanoTime());
                boolean willWait;
                synchronized (inputs) {
                    willWait = inputPolicy == InputPolicy.ALL || inputs.size() < f;
                }
                // Preprocessed here, beside the model, only when the frame is likely to be used: a
                // frame arriving while the model is busy will probably be replaced before the model
                // takes it, and resizing every frame of a 30 fps camera only to drop most of them
                // takes CPU the model could use. The model thread preprocesses such a frame if it
                // does take it.
                Input prepared = willWait ? preprocess(frame) : new Input(frame, null, null);
                synchronized (inputs) {
                    if (inputPolicy == InputPolicy.LATEST) {
                        while (inputs.size() >= f) {
                            inputs.removeFirst();
                            droppedInput.incrementAndGet();
                            observer.inputDropped(1);
                        }
                    } else {
                        while (inputs.size() >= 2 * f && !stopping) inputs.wait();
                    }
                    inputs.addLast(prepared);
                    inputs.notifyAll();
                }
            }
        } catch (Throwable t) {
            // recorded before the end is signalled: the writer must know the stream failed when it
            // sees the end, so that the sink is abandoned rather than finished as a complete output
            failSource(t); // the model thread sees the end of input and stops; the writer then abandons the sink
        } finally {
            synchronized (inputs) {
                inputEnded = true;
                inputs.notifyAll();
            }
        }
    }

    // ---- model -----------------------------------------------------------------------------------

    private void modelLoop() throws Exception {
        try {
            while (true) {
                List<Input> batch = takeBatch();
                if (batch == null) break;
                Consumer<StreamDiffusion> change;
                while ((change = changes.poll()) != null) change.accept(stream);
                FloatTensor[] tensors = new FloatTensor[batch.size()];
                FloatTensor[] controls = new FloatTensor[batch.size()];
                for (int i = 0; i < tensors.length; i++) {
                    Input in = batch.get(i);
                    if (in.tensor() == null) in = preprocess(in.frame());
                    tensors[i] = in.tensor();
                    controls[i] = in.control();
                }
                FloatTensor tensor = tensors.length == 1 ? tensors[0] : FloatTensor.concatRows(tensors);
                FloatTensor control = controls[0] == null ? null
                        : controls.length == 1 ? controls[0] : FloatTensor.concatRows(controls);
                FloatTensor out = freeOutputs.poll();
                if (out == null) {
                    out = FloatTensor.zeros(batch.size(), 3, stream.config().height(), stream.config().width());
                }
                long callsBefore = stream.unetCalls();
                long rowsBefore = stream.unetRows();
                long modelStart = System.nanoTime();
                stream.img2imgInto(tensor, control, out);
                long modelNanos = System.nanoTime() - modelStart;
                if (firstFrameModelNanos < 0) firstFrameModelNanos = modelNanos;
                frameModel.add(modelNanos);
                framesProcessed.addAndGet(batch.size());
                if (stream.lastFrameSkipped()) {
                    skipped.addAndGet(batch.size());
                    observer.skipped(batch.size());
                } else {
                    StreamDiffusion.StageTimes t = stream.lastStageTimes();
                    stage("encode", t.encodeNanos());
                    stage("unet", t.denoiseNanos());
                    stage("decode", t.decodeNanos());
                    observer.unetCalls(stream.unetCalls() - callsBefore, stream.unetRows() - rowsBefore);
                }
                emit(new Output(batch.stream().map(Input::frame).toList(), out, false));
            }
        } finally {
            synchronized (outputs) {
                outputs.addLast(new Output(List.of(), null, true));
                outputs.notifyAll();
            }
        }
    }

    /**
     * The frame's model input and, with ControlNets, its control image (the control
     * preprocessor runs here, on the input side, beside the model thread).
     */
    private Input preprocess(Frame frame) {
        long t0 = System.nanoTime();
        FloatTensor tensor = preprocessor.toTensor(frame.image());
        FloatTensor control = stream.controlImages(List.of(frame.image()));
        stage("preprocess", System.nanoTime() - t0);
        return new Input(frame, tensor, control);
    }

    /** One stage's time, for the telemetry and the observer alike. */
    private void stage(String name, long nanos) {
        stages.get(name).add(nanos);
        observer.stage(name, nanos);
    }

    private List<Input> takeBatch() throws InterruptedException {
        int f = stream.config().frameBufferSize();
        synchronized (inputs) {
            while (inputs.size() < f && !inputEnded && !stopping) inputs.wait();
            if (stopping || inputs.size() < f) {
                droppedInput.addAndGet(inputs.size()); // a partial batch at the end, or frames left at a stop
                if (!inputs.isEmpty()) observer.inputDropped(inputs.size());
                inputs.clear();
                inputs.notifyAll();
                return null;
            }
            List<Input> batch = new ArrayList<>(f);
            for (int i = 0; i < f; i++) batch.add(inputs.removeFirst());
            inputs.notifyAll();
            return batch;
        }
    }

    private void emit(Output o) throws InterruptedException {
        synchronized (outputs) {
            if (outputPolicy == OutputPolicy.BLOCK) {
                while (outputs.size() >= outputCapacity && !stopping) outputs.wait();
            } else {
                while (outputs.size() >= outputCapacity) {
                    Output dropped = outputs.removeFirst();
                    if (dropped.images() != null) {
                        droppedOutput.addAndGet(dropped.images().rows());
                        observer.outputDropped(dropped.images().rows());
                        freeOutputs.offer(dropped.images());
                    }
                }
            }
            outputs.addLast(o);
            outputs.notifyAll();
        }
    }

    // ---- writer ----------------------------------------------------------------------------------

    private void writeLoop() throws Exception {
        try {
            while (true) {
                Output o;
                synchronized (outputs) {
                    while (outputs.isEmpty()) outputs.wait();
                    o = outputs.removeFirst();
                    outputs.notifyAll();
                }
                if (o.end()) break;
                FloatTensor images = o.images();
                long captured = o.frames().getLast().capturedNanos();
                for (int i = 0; i < images.rows(); i++) {
                    long t0 = System.nanoTime();
                    RgbImage rgb = ImagePostprocessor.toRgb(ImagePostprocessor.toUnitHwc(images, i), images.dim(3), images.dim(2));
                    sink.accept(rgb, framesOut.get());
                    long now = System.nanoTime();
                    stage("postprocess", now - t0);
                    framesOut.incrementAndGet();
                    outputRate.mark(now);
                    if (firstOutNanos < 0) firstOutNanos = now;
                    lastOutNanos = now;
                    glassToGlass.add(now - captured);
                    observer.frameOut(now - captured);
                }
                freeOutputs.offer(images);
            }
        } catch (Throwable t) {
            fail(t);
            throw t;
        } finally {
            try {
                if (failure != null) sink.abandon();
                else sink.close();
            } catch (Throwable t) {
                fail(t);
                throw t;
            } finally {
                finished.countDown();
            }
        }
    }

    // ---- control -----------------------------------------------------------------------------------

    /** Queues a change to the stream, applied by the model thread before the next frame. */
    public void control(Consumer<StreamDiffusion> change) {
        changes.add(change);
    }

    public void setPrompt(String prompt) {
        control(s -> s.updatePrompt(prompt));
    }

    public void setNegativePrompt(String negative) {
        control(s -> s.updatePrompt(s.prompt(), negative));
    }

    public void setGuidance(double scale, double delta) {
        control(s -> s.updateGuidance(scale, delta));
    }

    public void setTIndexList(int... tIndexList) {
        control(s -> s.updateTIndexList(tIndexList));
    }

    public void setSeed(long seed) {
        control(s -> s.updateSeed(seed));
    }

    public void setSimilarityFilter(io.streamdiffusion4j.pipeline.SimilarityFilterSettings settings) {
        control(s -> s.updateSimilarityFilter(settings));
    }

    // ---- lifecycle and telemetry ---------------------------------------------------------------

    /** Waits until the source is exhausted and every output is written (or the engine stopped). */
    public void awaitEnd() throws Exception {
        finished.await();
        joinThreads(5_000);
        rethrow();
    }

    /** Waits at most {@code millis}; true when finished. */
    public boolean awaitEnd(long millis) throws Exception {
        boolean done = finished.await(millis, TimeUnit.MILLISECONDS);
        if (done) {
            joinThreads(5_000);
            rethrow();
        }
        return done;
    }

    private void rethrow() throws Exception {
        Throwable t = failure;
        if (t instanceof Exception e) throw e;
        if (t instanceof Error e) throw e;
    }

    /**
     * Stops cleanly: no new frames are read, the frame in the model is finished, outputs already
     * made are written, and the sink is closed (a video file gets its trailer).
     */
    public void stop() throws Exception {
        stopping = true;
        try {
            source.close();
        } catch (Exception ignored) {
            // the reader notices the stop either way
        }
        synchronized (inputs) {
            inputs.notifyAll();
        }
        synchronized (outputs) {
            outputs.notifyAll();
        }
        finished.await(30, TimeUnit.SECONDS);
        joinThreads(5_000);
        rethrow();
    }

    private void joinThreads(long millis) throws InterruptedException {
        for (Thread t : threads) t.join(millis);
    }

    public boolean isFinished() {
        return finished.getCount() == 0;
    }

    public InputPolicy inputPolicy() {
        return inputPolicy;
    }

    public OutputPolicy outputPolicy() {
        return outputPolicy;
    }

    public Telemetry telemetry() {
        long now = System.nanoTime();
        return new Telemetry(inputRate.perSecond(now), outputRate.perSecond(now), framesIn.get(), framesProcessed.get(),
                framesOut.get(), droppedInput.get(), droppedOutput.get(), skipped.get(), stream.unetCalls(),
                Telemetry.stages(stages),
                new double[] {glassToGlass.percentileMillis(50), glassToGlass.percentileMillis(95)},
                firstFrameModelNanos < 0 ? Double.NaN : firstFrameModelNanos / 1e6,
                new double[] {frameModel.percentileMillis(50), frameModel.percentileMillis(95)},
                firstOutNanos < 0 ? 0 : (lastOutNanos - firstOutNanos) / 1e9);
    }

    @Override
    public void close() throws Exception {
        if (!isFinished()) stop();
    }
}
