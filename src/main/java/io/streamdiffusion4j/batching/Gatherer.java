package io.streamdiffusion4j.batching;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.Condition;

/**
 * Gathers the calls of several streams into one, waiting at most a bounded window.
 *
 * <p>Calls are sorted into lanes (calls that can be stacked: one lane per latent row shape).
 * The first call into an idle lane leads: it waits until every participant present in the lane
 * has a call pending, or is not worth waiting for (its thread waits in another gather of the
 * group, or goes elsewhere next: see {@link GatherGroup}), or until the window has passed; then
 * it takes the pending calls and runs them as one batch on its own thread; the others wait for
 * the leader to hand their results back. A participant counts as present from its first call
 * until a leader's window passes without it (a stream that skipped a frame, or stopped): then it
 * is absent, nobody waits for it, and its next call makes it present again. So a stream that
 * stops calling costs the others at most one full window, once.
 *
 * <p>A call that makes its participant present (its first, or its first after an absence) does
 * not wait for the others when it leads: they may have just been served without it, and would
 * only come back a frame later. Waiting then would cost it the window, mark the others absent,
 * and make the streams take turns waiting for each other instead of falling into step; run at
 * once, it is in step from its next call.
 *
 * <p>All gatherers of a {@link GatherGroup} share its lock: what a leader waits for depends on
 * where the other streams' threads are in the group's other gathers.
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
     * @param timedOut whether the window passed before every participant waited for had called
     */
    record Gathered(long waitNanos, boolean timedOut) {
        /** A call run at once, gathering nothing. */
        static final Gathered AT_ONCE = new Gathered(0, false);
    }

    private static final class Pending<W> {
        final Object participant;
        final Thread thread;
        final W work;
        final Condition finished;
        boolean done;
        Throwable failure;

        Pending(Object participant, Thread thread, W work, Condition finished) {
            this.participant = participant;
            this.thread = thread;
            this.work = work;
            this.finished = finished;
        }
    }

    private final class Lane {
        final GatherGroup.Gate gate;
        final Map<Object, Thread> present = new HashMap<>(); // participant -> the thread of its last call
        final List<Pending<W>> pending = new ArrayList<>();
        boolean leading;

        Lane(Object key) {
            this.gate = new GatherGroup.Gate(Gatherer.this, key);
        }

        /** Whether no present participant is worth waiting for any longer. */
        boolean complete() {
            Set<Object> in = new HashSet<>();
            for (Pending<W> p : pending) in.add(p.participant);
            for (Map.Entry<Object, Thread> e : present.entrySet()) {
                if (!in.contains(e.getKey()) && group.waitsFor(e.getValue(), gate)) return false;
            }
            return true;
        }
    }

    private final GatherGroup group;
    private final Runner<W> runner;
    private final Map<Object, Lane> lanes = new HashMap<>();
    private final Map<Object, Object> laneOf = new HashMap<>(); // present participants -> their lane

    Gatherer(GatherGroup group, Runner<W> runner) {
        this.group = Objects.requireNonNull(group, "group");
        this.runner = Objects.requireNonNull(runner, "runner");
        group.register(this);
    }

    /**
     * Submits one call of {@code participant} (at most one call per participant at a time) and
     * returns once its batch has run; rethrows what the batch threw.
     */
    void submit(Object laneKey, Object participant, W work) {
        Thread self = Thread.currentThread();
        List<Pending<W>> batch;
        Pending<W> mine;
        Gathered gathered;
        boolean interrupted = false;
        group.lock.lock();
        try {
            Lane lane = lanes.computeIfAbsent(laneKey, Lane::new);
            Object previous = laneOf.put(participant, laneKey);
            if (previous != null && !previous.equals(laneKey)) leaveLane(participant, previous);
            boolean arriving = lane.present.put(participant, self) == null; // new here, or back after an absence
            mine = new Pending<>(participant, self, work, group.lock.newCondition());
            lane.pending.add(mine);
            group.entering(self, lane.gate); // wakes every waiting leader, this lane's among them
            if (lane.leading) {
                try {
                    while (!mine.done) mine.finished.awaitUninterruptibly(); // the leader is running our rows
                } finally {
                    group.gathered(self);
                }
                if (mine.failure != null) {
                    throw new IllegalStateException("the batched call failed: " + mine.failure.getMessage(), mine.failure);
                }
                return;
            }
            lane.leading = true;
            long start = System.nanoTime();
            long deadline = start + group.windowNanos();
            while (!arriving && !lane.complete()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                try {
                    group.changed.awaitNanos(left);
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
            for (Pending<W> p : batch) group.gathered(p.thread); // its own thread among them
            if (timedOut) markMissingAbsent(lane, batch);
        } finally {
            group.lock.unlock();
        }
        Throwable failure = null;
        try {
            List<W> works = new ArrayList<>(batch.size());
            for (Pending<W> p : batch) works.add(p.work);
            runner.run(works, gathered);
        } catch (Throwable t) {
            failure = t;
        }
        group.lock.lock();
        try {
            for (Pending<W> p : batch) {
                if (p == mine) continue;
                p.done = true;
                p.failure = failure;
                p.finished.signal();
            }
        } finally {
            group.lock.unlock();
        }
        if (interrupted) Thread.currentThread().interrupt();
        rethrow(failure);
    }

    /**
     * {@code participant} makes no more calls (its stream ended or changed its settings): nobody
     * waits for it any longer, nor for its thread in the group's other gathers until it calls again.
     */
    void leave(Object participant) {
        group.lock.lock();
        try {
            Object lane = laneOf.remove(participant);
            if (lane == null) return;
            Thread thread = lanes.get(lane).present.get(participant);
            leaveLane(participant, lane);
            if (thread != null) group.forget(thread);
        } finally {
            group.lock.unlock();
        }
    }

    /** Calls waiting to be run now, in all lanes. */
    int pending() {
        group.lock.lock();
        try {
            int n = 0;
            for (Lane lane : lanes.values()) n += lane.pending.size();
            return n;
        } finally {
            group.lock.unlock();
        }
    }

    /** Participants counted as present (waited for) now, in all lanes. */
    int present() {
        group.lock.lock();
        try {
            return laneOf.size();
        } finally {
            group.lock.unlock();
        }
    }

    /** Whether a present participant's last call came from {@code thread} (called holding the group's lock). */
    boolean hasPresentThreadLocked(Thread thread) {
        for (Lane lane : lanes.values()) if (lane.present.containsValue(thread)) return true;
        return false;
    }

    /** Forgets every present participant of {@code thread} (called by the group, holding its lock). */
    void forgetLocked(Thread thread) {
        List<Object> gone = new ArrayList<>();
        for (Lane lane : lanes.values()) {
            for (Map.Entry<Object, Thread> e : lane.present.entrySet()) if (e.getValue() == thread) gone.add(e.getKey());
        }
        for (Object p : gone) leaveLane(p, laneOf.remove(p));
    }

    private void leaveLane(Object participant, Object laneKey) {
        Lane lane = lanes.get(laneKey);
        if (lane == null) return;
        lane.present.remove(participant);
        group.changed.signalAll(); // a leader may have been waiting for it
        if (lane.present.isEmpty() && lane.pending.isEmpty() && !lane.leading) lanes.remove(laneKey);
    }

    /** The window passed: participants not in {@code batch} are absent now (and forgotten, so a thread that ended is not kept). */
    private void markMissingAbsent(Lane lane, List<Pending<W>> batch) {
        Set<Object> in = new HashSet<>();
        for (Pending<W> p : batch) in.add(p.participant);
        for (Iterator<Object> it = lane.present.keySet().iterator(); it.hasNext(); ) {
            Object p = it.next();
            if (!in.contains(p)) {
                it.remove();
                laneOf.remove(p);
            }
        }
    }

    private static void rethrow(Throwable failure) {
        if (failure == null) return;
        if (failure instanceof RuntimeException r) throw r;
        if (failure instanceof Error e) throw e;
        throw new IllegalStateException(failure);
    }
}
