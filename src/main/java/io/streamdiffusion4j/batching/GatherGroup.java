package io.streamdiffusion4j.batching;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The gathers of one set of shared models (the UNet's, the VAE encoder's and decoder's) and
 * where each stream's thread is among them: one lock, one window, one record per thread.
 *
 * <p>Why one coordinator: a stream's frame passes through several gathers in turn (encode, UNet,
 * decode). With a gather each on its own, a leader waits for every present stream, so two streams
 * a stage apart could each wait in one gather for the other, which waits in the other gather for
 * it, until the window passes, every frame. Here every gather knows where every stream's thread
 * is, and a leader waits for a stream only while that stream's thread is in no gather (running
 * its own code, or a model call already gathered) and, as far as its history tells, will come to
 * this gather soon.
 *
 * <p>Why that is free of such stalls: a leader waits only for threads that are not waiting in a
 * gather, so no waiting thread is ever waited for: the waits between gathers form no chain, let
 * alone a cycle. Every thread entering any gather wakes every waiting leader (one lock, one
 * condition), which looks again: the moment the stream it waits for starts waiting somewhere
 * else, a leader stops waiting for it. So a leader waits out its window only when a stream it
 * counts on stayed out of every gather the whole window (it had no frame, or its model call took
 * longer than the window), never because that stream was waiting in another gather. A model call
 * already gathered waits for nothing but the models, whose calls never wait on a gather.
 *
 * <p>Why the prediction: a thread's gathers repeat with its frames (encode, UNet, decode, encode,
 * ...), so the gathers it entered after its last two are where it goes next. A leader does not
 * wait for a stream that will come to its gather only a frame later (it just left it): waiting
 * for streams that come within their next two gathers lets the one behind catch up within the
 * frame (a stream that was late for its encode comes to the UNet one encode later), and pulls two
 * streams a stage apart into step at their next common gather, rather than making them take
 * turns. A stream on its way here may pass through another gather first; the leader waiting
 * here is in a gather itself, so nobody there waits for it: the waits never come back round. A
 * wrong or unknown prediction costs at most a stacked call missed, or a wait of at most the
 * window for a stream outside every gather; it never makes a stall.
 *
 * <p>A stream is known by its thread: each session runs its stream on a thread of its own. A
 * thread that ended is never waited for.
 */
public final class GatherGroup {
    /** Transitions remembered per thread; more means it keeps changing shapes, and the history starts again. */
    private static final int KEPT_STEPS = 64;

    private final long windowNanos;
    final ReentrantLock lock = new ReentrantLock();
    /** Signalled whenever a thread enters a gather or a participant leaves: waiting leaders look again. */
    final Condition changed = lock.newCondition();
    private final Map<Thread, Whereabouts> threads = new HashMap<>();
    private final List<Gatherer<?>> gatherers = new ArrayList<>();
    private Gatherer<?> streams; // whose participants' threads are the streams (the UNet's), or null: every caller is one

    /** @param window how long a gather's first call waits for the other streams' (0: stack only calls waiting already) */
    public GatherGroup(Duration window) {
        if (window.isNegative()) throw new IllegalArgumentException("the gather window must be >= 0, found " + window);
        this.windowNanos = window.toNanos();
    }

    public Duration window() {
        return Duration.ofNanos(windowNanos);
    }

    long windowNanos() {
        return windowNanos;
    }

    /** One place a thread can wait in: a lane of one gatherer. */
    record Gate(Gatherer<?> gatherer, Object lane) {}

    /** The gates a thread entered last and one before (null before its first ones). */
    private record Step(Gate before, Gate last) {}

    /** Where one thread is and where it went after each pair of gates. */
    private static final class Whereabouts {
        Gate before;
        Gate last;
        boolean gathering; // entered `last` and waits there: for its leader to gather, or as the leader gathering
        final Map<Step, Gate> next = new HashMap<>();

        /**
         * Whether, by its history, the thread comes to {@code gate} within its next two gathers (or
         * its history cannot tell): not if it just left it, on its way round to it a frame later.
         */
        boolean comesSoonTo(Gate gate) {
            if (last == null) return true;
            Gate first = next.get(new Step(before, last));
            if (first == null || first.equals(gate)) return true;
            Gate second = next.get(new Step(last, first));
            return second == null || second.equals(gate);
        }
    }

    void register(Gatherer<?> gatherer) {
        lock.lock();
        try {
            gatherers.add(gatherer);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The threads of {@code gatherer}'s present participants (the UNet's: streams with prepared
     * conditioning) are the group's streams: the other gathers gather only their calls, so a thread
     * that is no stream (a warm-up, or a session's before its first UNet call) is never waited for.
     */
    void streamsAreParticipantsOf(Gatherer<?> gatherer) {
        lock.lock();
        try {
            streams = gatherer;
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code thread} runs one of the group's streams (see {@link #streamsAreParticipantsOf}). */
    boolean isStream(Thread thread) {
        lock.lock();
        try {
            return streams == null || streams.hasPresentThreadLocked(thread);
        } finally {
            lock.unlock();
        }
    }

    /** {@code thread} enters {@code gate} and waits there (called holding the lock): every waiting leader looks again. */
    void entering(Thread thread, Gate gate) {
        threads.keySet().removeIf(t -> !t.isAlive()); // sessions that ended
        Whereabouts w = threads.computeIfAbsent(thread, t -> new Whereabouts());
        if (w.last != null) {
            if (w.next.size() >= KEPT_STEPS) w.next.clear();
            w.next.put(new Step(w.before, w.last), gate);
        }
        w.before = w.last;
        w.last = gate;
        w.gathering = true;
        changed.signalAll();
    }

    /** {@code thread}'s call was gathered: it waits for nothing but the model call now (called holding the lock). */
    void gathered(Thread thread) {
        Whereabouts w = threads.get(thread);
        if (w != null) w.gathering = false;
    }

    /**
     * Whether a leader gathering at {@code gate} waits for a present stream on {@code thread}
     * (called holding the lock): not if it waits in a gather itself (this is what makes stalls
     * impossible, see the class comment), not if it ended or is no stream, not if it comes here
     * only a frame later.
     */
    boolean waitsFor(Thread thread, Gate gate) {
        if (!thread.isAlive()) return false;
        if (streams != null && gate.gatherer() != streams && !streams.hasPresentThreadLocked(thread)) return false; // no stream
        Whereabouts w = threads.get(thread);
        if (w == null) return true;
        if (w.gathering) return false;
        return w.comesSoonTo(gate);
    }

    /** The stream on {@code thread} makes no more calls (until it calls again): nobody waits for it. */
    void leave(Thread thread) {
        lock.lock();
        try {
            forget(thread);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The stream on {@code thread} ended or changed its settings (it closed its conditioning):
     * nobody waits for it in any gather until it calls again (called holding the lock).
     */
    void forget(Thread thread) {
        for (Gatherer<?> g : gatherers) g.forgetLocked(thread);
        Whereabouts w = threads.get(thread);
        if (w != null && !w.gathering) threads.remove(thread);
        changed.signalAll();
    }
}
