package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.batching.BatchStats;
import io.streamdiffusion4j.batching.BatchingUnet;
import io.streamdiffusion4j.batching.CrossSessionBatching;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OrtUnet;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * An arm of k concurrent streams (sessions) on one model: each round gives every stream the
 * frame at the same moment (a camera tick for k viewers) and runs each on a thread of its own, as
 * a server's sessions run (the batching knows a stream by its thread). With a gather window their UNet, VAE encoder and decoder calls are
 * stacked across the streams ({@link CrossSessionBatching}, as {@code serve --gather-window-ms});
 * without, each stream calls the models itself and they take turns. The round's frame time is the time until the last stream has its image; every
 * stream's own latency (round start to its image) is kept for the percentiles. The model calls
 * are counted below the batcher, so a stacked call counts once.
 */
final class SessionsArm implements Arm {
    private final String name;
    private final StreamConfig config;
    private final int sessions;
    private final CountingUnet counted;
    private final CrossSessionBatching crossSession;
    private final BatchingUnet batching;
    private final List<StreamDiffusion> streams = new ArrayList<>();
    private final List<FloatTensor> outputs = new ArrayList<>();
    private final List<ExecutorService> threads = new ArrayList<>(); // one per stream
    private final List<long[]> latencies = new ArrayList<>();
    private final List<BatchStats> batchStats = new ArrayList<>();

    /** @param window the gather window of cross-session batching, or null for separate calls */
    SessionsArm(String name, StableDiffusionModels models, StreamConfig config, RunConfig run, int sessions, Duration window) {
        if (sessions < 1) throw new IllegalArgumentException("need at least one session, found " + sessions);
        this.name = name;
        this.config = config;
        this.sessions = sessions;
        // buffers of its own, as StreamArm: the other arms' batch shapes do not make it reallocate
        this.counted = models.unet() instanceof OrtUnet ort ? new CountingUnet(ort.withOwnBuffers(), true)
                : new CountingUnet(models.unet(), false);
        StableDiffusionModels countedModels = models.withUnet(counted);
        this.crossSession = window == null ? null : CrossSessionBatching.of(countedModels, window);
        this.batching = crossSession == null ? null : crossSession.unet();
        StableDiffusionModels shared = crossSession == null ? countedModels : crossSession.models();
        for (int i = 0; i < sessions; i++) {
            String thread = "bench-session-" + i;
            threads.add(Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name(thread).unstarted(r)));
        }
        try {
            for (int i = 0; i < sessions; i++) {
                StreamDiffusion s = StreamDiffusion.builder().models(shared).config(config).seed(config.seed() + i).build();
                streams.add(s);
                s.prepare(run.promptBlend(), run.negativePrompt(), run.numInferenceSteps(), run.guidanceScale(), run.delta());
                outputs.add(FloatTensor.zeros(config.frameBufferSize(), 3, config.height(), config.width()));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String config() {
        return sessions + " session(s), each " + StreamRunner.describe(config);
    }

    int sessions() {
        return sessions;
    }

    boolean batched() {
        return batching != null;
    }

    @Override
    public ArmFrame run(RgbImage input) {
        CountingUnet.Tally before = counted.tally();
        BatchStats batchBefore = batching == null ? null : batching.stats();
        long start = System.nanoTime();
        List<Future<Long>> done = new ArrayList<>(sessions);
        for (int i = 0; i < sessions; i++) {
            StreamDiffusion s = streams.get(i);
            FloatTensor out = outputs.get(i);
            done.add(threads.get(i).submit(() -> {
                List<RgbImage> batch = new ArrayList<>(config.frameBufferSize());
                for (int k = 0; k < config.frameBufferSize(); k++) batch.add(input);
                s.img2imgInto(s.preprocessor().toTensor(batch), out);
                ImagePostprocessor.toRgbImages(out);
                return System.nanoTime() - start;
            }));
        }
        long[] own = new long[sessions];
        long round = 0;
        try {
            for (int i = 0; i < sessions; i++) {
                own[i] = done.get(i).get();
                round = Math.max(round, own[i]);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the sessions ran", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a session failed: " + e.getCause().getMessage(), e.getCause());
        }
        latencies.add(own);
        if (batching != null) batchStats.add(batching.stats().since(batchBefore));
        return new ArmFrame(round, counted.nanosSince(before), counted.rowsSince(before));
    }

    /** Every session's latency in the last {@code rounds} rounds run. */
    long[] latencies(int rounds) {
        List<long[]> last = latencies.subList(Math.max(0, latencies.size() - rounds), latencies.size());
        return last.stream().flatMapToLong(java.util.Arrays::stream).toArray();
    }

    /** What the batcher did in the last {@code rounds} rounds (null without batching). */
    BatchStats batchStats(int rounds) {
        if (batching == null) return null;
        long streamCalls = 0, modelCalls = 0, rows = 0, timeouts = 0, wait = 0;
        for (BatchStats b : batchStats.subList(Math.max(0, batchStats.size() - rounds), batchStats.size())) {
            streamCalls += b.streamCalls();
            modelCalls += b.modelCalls();
            rows += b.rows();
            timeouts += b.timeouts();
            wait += b.waitNanos();
        }
        return new BatchStats(streamCalls, modelCalls, rows, timeouts, wait);
    }

    @Override
    public void close() {
        threads.forEach(ExecutorService::shutdownNow);
        try {
            for (StreamDiffusion s : streams) s.close();
        } finally {
            try {
                if (crossSession != null) crossSession.close();
            } finally {
                counted.close();
            }
        }
    }
}
