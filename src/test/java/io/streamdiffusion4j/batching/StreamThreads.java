package io.streamdiffusion4j.batching;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Each test stream's calls on a thread of its own, as a session's stream runs in {@code serve}:
 * the gathers tell streams apart by their threads, and a thread calling for two streams would wait
 * for itself. Close it after the test.
 */
final class StreamThreads implements AutoCloseable {
    private final Map<Object, ExecutorService> threads = new IdentityHashMap<>();

    /** Runs {@code call} on {@code stream}'s own thread. */
    synchronized <T> Future<T> submit(Object stream, Callable<T> call) {
        return threads.computeIfAbsent(stream, k -> Executors.newSingleThreadExecutor()).submit(call);
    }

    /**
     * Two streams' calls gathered into one: {@code first}'s is submitted and waits in {@code unet}
     * (seen by its pending-call count, not by sleeping for a time) before {@code second}'s is.
     */
    float[][] together(BatchingUnet unet, Object first, Callable<float[]> firstCall, Object second, Callable<float[]> secondCall)
            throws Exception {
        int before = unet.pendingCalls();
        Future<float[]> f1 = submit(first, firstCall);
        long give = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (unet.pendingCalls() == before && System.nanoTime() < give) Thread.sleep(1);
        Future<float[]> f2 = submit(second, secondCall);
        return new float[][] {f1.get(30, TimeUnit.SECONDS), f2.get(30, TimeUnit.SECONDS)};
    }

    @Override
    public synchronized void close() {
        threads.values().forEach(ExecutorService::shutdownNow);
    }
}
