package io.streamdiffusion4j.batching;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Gathers the calls of several streams into one, waiting at most a bounded window.
 *
 * <p>Calls are sorted into lanes (calls that can be stacked: one lane per latent row shape).
 * The first call into an idle lane leads: it waits until every participant present in the lane
 * has a call pending, or until the window has passed, then takes the pending calls and runs them
 * as one batch on its own thread; the others wait for the leader to hand their results back. A
 * participant counts as present from its first call until a leader's window passes without it
 * (a stream that skipped a frame, or stopped): then it is absent, nobody waits for it, and its
 * next call makes it present again. So a stream that stops calling costs the others at most
 * one full window, once.
 *
 * <p>A call that makes its participant present (its first, or its first after an absence) does
 * not wait for the others when it leads: they may have just been served without it, and would
 * only come back a frame later. Waiting then would cost it the window, mark the others absent,
 * and make the streams take turns waiting for each other instead of falling into step; run at
 * once, it is in step from its next call.
 *
 * @param <W> the work of one call, handed to the batch runner as submitted
 */
final class Gatherer<W> {

    /** Runs one batch: the works of the calls gathered, in arrival order. */
    interface Runner<W> {
        void run(List<W> works, Gathered gathered);
    }

    /**
     * How a batch was gathered.
     *
     * @param waitNanos how long its leader waited for the others (0 when all were there at once)
     * @param timedOut whether the window passed before every present participant had called
     */
    record Gathered(long waitNanos, boolean timedOut) {}

    private static final class Pending<W> {
        final Object participant;
        final W work;
        final Condition finished;
        boolean done;
        Throwable failure;

        Pending(Object participant, W work, Condition finished) {
            this.participant = participant;
            this.work = work;
            this.finished = finished;
        }
    }

    private final class Lane<W2> {
        final Condition arrived;
        final Set<Object> present = new HashSet<>();
        final List<Pending<W2>> pending = new ArrayList<>();
        boolean leading;

        Lane(Condition arrived) {
            this.arrived = arrived;
        }

        /** Whether every present participant has a call pending. */
        boolean complete() {
            Set<Object> in = new HashSet<>();
            for (Pending<W2> p : pending) in.add(p.participant);
            return in.containsAll(present);
        }
    }

    private final long windowNanos;
    private final Runner<W> runner;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<Object, Lane<W>> lanes = new HashMap<>();
    private final Map<Object, Object> laneOf = new HashMap<>(); // present participants -> their lane

    Gatherer(long windowNanos, Runner<W> runner) {
        if (windowNanos < 0) throw new IllegalArgumentException("the gather window must be >= 0, found " + windowNanos + " ns");
        this.windowNanos = windowNanos;
        this.runner = Objects.requireNonNull(runner, "runner");
    }

    /**
     * Submits one call of {@code participant} (at most one call per participant at a time) and
     * returns once its batch has run; rethrows what the batch threw.
     */
    void submit(Object laneKey, Object participant, W work) {
        List<Pending<W>> batch;
        Pending<W> mine;
        Gathered gathered;
        boolean interrupted = false;
        lock.lock();
        try {
            Lane<W> lane = lanes.computeIfAbsent(laneKey, k -> new Lane<>(lock.newCondition()));
            Object previous = laneOf.put(participant, laneKey);
            if (previous != null && !previous.equals(laneKey)) leaveLane(participant, previous);
            boolean arriving = lane.present.add(participant); // new here, or back after an absence
            mine = new Pending<>(participant, work, lock.newCondition());
            lane.pending.add(mine);
            if (lane.leading) {
                lane.arrived.signalAll();
                while (!mine.done) mine.finished.awaitUninterruptibly(); // the leader is running our rows
                if (mine.failure != null) {
                    throw new IllegalStateException("the batched call failed: " + mine.failure.getMessage(), mine.failure);
                }
                return;
            }
            lane.leading = true;
            long start = System.nanoTime();
            long deadline = start + windowNanos;
            while (!arriving && !lane.complete()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                try {
                    lane.arrived.awaitNanos(left);
                } catch (InterruptedException e) {
                    interrupted = true; // stop waiting, but run the calls already gathered
                    break;
                }
            }
            boolean timedOut = !arriving && !lane.complete();
            gathered = new Gathered(System.nanoTime() - start, timedOut);
            batch = new ArrayList<>(lane.pending);
            lane.pending.clear();
            lane.leading = false;
            if (timedOut) markMissingAbsent(lane, batch);
        } finally {
            lock.unlock();
        }
        Throwable failure = null;
        try {
            List<W> works = new ArrayList<>(batch.size());
            for (Pending<W> p : batch) works.add(p.work);
            runner.run(works, gathered);
        } catch (Throwable t) {
            failure = t;
        }
        lock.lock();
        try {
            for (Pending<W> p : batch) {
                if (p == mine) continue;
                p.done = true;
                p.failure = failure;
                p.finished.signal();
            }
        } finally {
            lock.unlock();
        }
        if (interrupted) Thread.currentThread().interrupt();
        rethrow(failure);
    }

    /** {@code participant} makes no more calls: nobody waits for it any longer. */
    void leave(Object participant) {
        lock.lock();
        try {
            Object lane = laneOf.remove(participant);
            if (lane != null) leaveLane(participant, lane);
        } finally {
            lock.unlock();
        }
    }

    /** Calls waiting to be run now, in all lanes. */
    int pending() {
        lock.lock();
        try {
            int n = 0;
            for (Lane<W> lane : lanes.values()) n += lane.pending.size();
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Participants counted as present (waited for) now, in all lanes. */
    int present() {
        lock.lock();
        try {
            return laneOf.size();
        } finally {
            lock.unlock();
        }
    }

    private void leaveLane(Object participant, Object laneKey) {
        Lane<W> lane = lanes.get(laneKey);
        if (lane == null) return;
        lane.present.remove(participant);
        lane.arrived.signalAll(); // a leader may have been waiting for it
        if (lane.present.isEmpty() && lane.pending.isEmpty() && !lane.leading) lanes.remove(laneKey);
    }

    /** The window passed: participants not in {@code batch} are absent now (and forgotten, so a thread that ended is not kept). */
    private void markMissingAbsent(Lane<W> lane, List<Pending<W>> batch) {
        Set<Object> in = new HashSet<>();
        for (Pending<W> p : batch) in.add(p.participant);
        List<Object> missing = new ArrayList<>();
        for (Object p : lane.present) if (!in.contains(p)) missing.add(p);
        for (Object p : missing) {
            lane.present.remove(p);
            laneOf.remove(p);
        }
    }

    private static void rethrow(Throwable failure) {
        if (failure == null) return;
        if (failure instanceof RuntimeException r) throw r;
        if (failure instanceof Error e) throw e;
        throw new IllegalStateException(failure);
    }
}
