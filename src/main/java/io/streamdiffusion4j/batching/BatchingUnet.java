package io.streamdiffusion4j.batching;

import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A UNet shared by several streams that stacks their calls into one (cross-session batching).
 *
 * <p>Every stream {@link #prepare}s its own conditioning (its prompt embeddings, timesteps and
 * rows, which differ with its guidance): that makes it a participant. Its per-frame calls go to a
 * {@link Gatherer}, which waits at most the gather window for the other participants whose
 * latents have the same shape, then makes ONE call to the wrapped UNet on their rows stacked in
 * participant order, and hands each stream its own rows of the prediction. The stacked call's
 * conditioning is the wrapped UNet's {@code prepare} of the members' own timesteps and
 * embeddings stacked the same way, made once per set of members and kept while they last
 * (a member that re-prepares is a new participant). So each stream keeps its own noise, buffers,
 * prompt, guidance and filter; only the model call is shared.
 *
 * <p>A call that gathers no one else runs on the wrapped UNet with the participant's own
 * conditioning, prepared exactly as without batching, and its arrays as they are: a stream alone
 * gets bit for bit the frames it gets unbatched. A stream whose shape changes (another size)
 * simply moves to another lane; one that stops calling is waited for once (see {@link Gatherer}).
 * The calls without prepared conditioning (warm-up) go straight to the wrapped UNet.
 *
 * <p>ControlNet residuals ({@link #acceptsResiduals()} when the wrapped UNet does): each stream
 * runs its own ControlNets and hands its residuals with its call; they are stacked along the rows
 * like the samples (same participant order) and the stacked call is made with them. Calls with
 * residuals gather only with calls with residuals of the same row shapes (another lane), never
 * with plain calls: a plain call has no residuals to stack, and giving it zeros would change what
 * a UNet that refuses plain calls (a graph with residual inputs) does for it. Streams with
 * ControlNets pass residuals on every call (zeros when no ControlNet is on), so they stay in one
 * lane.
 *
 * <p>This does not own the wrapped UNet: closing it frees only the stacked conditionings.
 */
public final class BatchingUnet implements Unet {
    /** Sets of members whose stacked conditioning is kept (the least recently used beyond are freed). */
    private static final int KEPT_GROUPS = 16;

    private final Unet unet;
    private final Duration window;
    private final Gatherer<Call> gatherer;
    private final Object modelLock = new Object(); // the wrapped calls and the conditionings they use
    private final Map<List<Member>, Group> groups = new LinkedHashMap<>(16, 0.75f, true);
    private final AtomicLong ids = new AtomicLong();
    private final BatchCounter counter = new BatchCounter();
    private boolean closed;

    /**
     * @param window how long the first call waits for the other streams' (0: stack only calls
     *     that happen to be waiting already)
     */
    public BatchingUnet(Unet unet, Duration window) {
        this(unet, new GatherGroup(window));
    }

    /** Gathers in {@code group}, with the other models of the same streams (see {@link CrossSessionBatching}). */
    public BatchingUnet(Unet unet, GatherGroup group) {
        this.unet = Objects.requireNonNull(unet, "unet");
        this.window = group.window();
        this.gatherer = new Gatherer<>(group, this::run);
        group.streamsAreParticipantsOf(gatherer); // a stream is a thread calling with prepared conditioning
    }

    /** Reports each batched call to {@code observer} from now on (the server's metrics). */
    public void observe(GatherObserver observer) {
        counter.observe(observer);
    }

    public Duration window() {
        return window;
    }

    /** The wrapped UNet, which makes the calls. */
    public Unet wrapped() {
        return unet;
    }

    public BatchStats stats() {
        return counter.stats();
    }

    /** Calls of streams waiting to be gathered or run now (for tests that order calls). */
    int pendingCalls() {
        return gatherer.pending();
    }

    @Override
    public FloatTensor predictNoise(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates) {
        return unet.predictNoise(sample, timesteps, encoderHiddenStates);
    }

    @Override
    public void predictNoiseInto(FloatTensor sample, long[] timesteps, FloatTensor encoderHiddenStates, float[] eps) {
        unet.predictNoiseInto(sample, timesteps, encoderHiddenStates, eps);
    }

    /** Makes the stream a participant, with its own conditioning prepared by the wrapped UNet as without batching. */
    @Override
    public Conditioning prepare(int[] sampleShape, long[] timesteps, FloatTensor encoderHiddenStates) {
        Embeddings.of(sampleShape, timesteps, encoderHiddenStates); // checks the rows
        Member m = new Member(ids.incrementAndGet(), sampleShape.clone(), timesteps.clone(), encoderHiddenStates.copy());
        synchronized (modelLock) {
            if (closed) throw new IllegalStateException("the batching UNet was closed");
            m.own = unet.prepare(sampleShape, timesteps, encoderHiddenStates);
        }
        return m;
    }

    @Override
    public void predictNoiseInto(FloatTensor sample, Conditioning conditioning, float[] eps) {
        submit(sample, conditioning, null, eps);
    }

    @Override
    public boolean acceptsResiduals() {
        return unet.acceptsResiduals();
    }

    /** Stacked with the calls of the other streams that pass residuals of the same row shapes. */
    @Override
    public void predictNoiseInto(FloatTensor sample, Conditioning conditioning, ControlResiduals residuals, float[] eps) {
        if (!unet.acceptsResiduals()) {
            throw new UnsupportedOperationException("the batched UNet takes no ControlNet residuals: " + unet);
        }
        submit(sample, conditioning, Objects.requireNonNull(residuals, "residuals"), eps);
    }

    private void submit(FloatTensor sample, Conditioning conditioning, ControlResiduals residuals, float[] eps) {
        if (!(conditioning instanceof Member m) || m.owner() != this) {
            throw new IllegalArgumentException("this UNet cannot use conditioning prepared elsewhere: " + conditioning);
        }
        if (!sample.hasShape(m.shape)) {
            throw new IllegalArgumentException("conditioning prepared for samples of " + Arrays.toString(m.shape) + ", given " + sample);
        }
        if (eps.length != sample.size()) {
            throw new IllegalArgumentException("the noise prediction of " + sample + " needs " + sample.size()
                    + " values, found room for " + eps.length);
        }
        Object lane = m.lane;
        if (residuals != null) {
            List<List<Integer>> rowShapes = new ArrayList<>();
            for (FloatTensor r : residuals.all()) {
                if (r.rows() != sample.rows()) {
                    throw new IllegalArgumentException("ControlNet residuals need the sample's " + sample.rows() + " rows, found " + r);
                }
                rowShapes.add(Arrays.stream(r.shape(), 1, r.shape().length).boxed().toList());
            }
            lane = List.of(m.lane, rowShapes); // stacked only with calls whose residuals stack with these
        }
        if (m.isClosed()) throw new IllegalStateException("the conditioning was closed");
        counter.streamCall();
        gatherer.submit(lane, m, new Call(m, sample, residuals, eps));
    }

    /** One gathered batch: alone, the wrapped UNet on the stream's own arrays; else stacked, once. */
    private void run(List<Call> calls, Gatherer.Gathered gathered) {
        List<Call> ordered = new ArrayList<>(calls);
        ordered.sort(Comparator.comparingLong(c -> c.member.id));
        int batchRows = 0;
        for (Call c : ordered) batchRows += c.sample.rows();
        synchronized (modelLock) {
            for (Call c : ordered) {
                if (c.member.closed) throw new IllegalStateException("a stream's conditioning was closed during its call");
            }
            boolean withResiduals = ordered.getFirst().residuals != null; // the same for all: one lane
            if (ordered.size() == 1) {
                Call c = ordered.getFirst();
                if (withResiduals) {
                    unet.predictNoiseInto(c.sample, c.member.own, c.residuals, c.eps);
                } else {
                    unet.predictNoiseInto(c.sample, c.member.own, c.eps);
                }
            } else {
                Group g = groupOf(ordered);
                float[] x = g.sample.data();
                int off = 0;
                for (Call c : ordered) {
                    System.arraycopy(c.sample.data(), 0, x, off, c.sample.size());
                    off += c.sample.size();
                }
                if (withResiduals) {
                    unet.predictNoiseInto(g.sample, g.conditioning, g.stackResiduals(ordered), g.eps);
                } else {
                    unet.predictNoiseInto(g.sample, g.conditioning, g.eps);
                }
                off = 0;
                for (Call c : ordered) {
                    System.arraycopy(g.eps, off, c.eps, 0, c.eps.length);
                    off += c.eps.length;
                }
            }
        }
        counter.modelCall(ordered.size(), batchRows, gathered);
    }

    /** The stacked conditioning and arrays of these members (called holding {@link #modelLock}). */
    private Group groupOf(List<Call> ordered) {
        List<Member> members = ordered.stream().map(c -> c.member).toList();
        Group g = groups.get(members);
        if (g != null) return g;
        FloatTensor[] samples = new FloatTensor[members.size()];
        FloatTensor[] hidden = new FloatTensor[members.size()];
        long[] t = new long[0];
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            samples[i] = ordered.get(i).sample;
            hidden[i] = m.embeddings;
            long[] all = Arrays.copyOf(t, t.length + m.timesteps.length);
            System.arraycopy(m.timesteps, 0, all, t.length, m.timesteps.length);
            t = all;
        }
        FloatTensor hiddenStacked = FloatTensor.concatRows(hidden);
        int sampleRows = 0;
        for (FloatTensor s : samples) sampleRows += s.rows();
        FloatTensor stacked = FloatTensor.zeros(samples[0].shapeWithRows(sampleRows));
        g = new Group(members, unet.prepare(stacked.shape(), t, hiddenStacked), stacked, new float[stacked.size()]);
        groups.put(members, g);
        if (groups.size() > KEPT_GROUPS) {
            Iterator<Group> eldest = groups.values().iterator();
            Group old = eldest.next();
            eldest.remove();
            old.conditioning.close();
        }
        return g;
    }

    /** Frees the stacked conditionings (the streams' own ones are theirs to close); the wrapped UNet stays open. */
    @Override
    public void close() {
        synchronized (modelLock) {
            closed = true;
            for (Group g : groups.values()) g.conditioning.close();
            groups.clear();
        }
    }

    @Override
    public int latentChannels() {
        return unet.latentChannels();
    }

    @Override
    public int crossAttentionDim() {
        return unet.crossAttentionDim();
    }

    /** Stacked members, their conditioning and reused arrays. */
    private static final class Group {
        final List<Member> members;
        final Conditioning conditioning;
        final FloatTensor sample;
        final float[] eps;
        ControlResiduals residuals; // the stacked residuals, made on the first call with them

        Group(List<Member> members, Conditioning conditioning, FloatTensor sample, float[] eps) {
            this.members = members;
            this.conditioning = conditioning;
            this.sample = sample;
            this.eps = eps;
        }

        /** The calls' residuals stacked along the rows in the calls' order (their samples' order). */
        ControlResiduals stackResiduals(List<Call> ordered) {
            List<int[]> shapes = ordered.getFirst().residuals.shapes();
            for (int[] s : shapes) s[0] = sample.rows();
            if (residuals == null || !sameShapes(residuals.shapes(), shapes)) residuals = ControlResiduals.zeros(shapes);
            List<FloatTensor> to = residuals.all();
            for (int k = 0; k < to.size(); k++) {
                float[] x = to.get(k).data();
                int off = 0;
                for (Call c : ordered) {
                    FloatTensor r = c.residuals.all().get(k);
                    System.arraycopy(r.data(), 0, x, off, r.size());
                    off += r.size();
                }
            }
            return residuals;
        }

        private static boolean sameShapes(List<int[]> a, List<int[]> b) {
            if (a.size() != b.size()) return false;
            for (int i = 0; i < a.size(); i++) if (!Arrays.equals(a.get(i), b.get(i))) return false;
            return true;
        }
    }

    /** One stream's call, waiting to be gathered ({@code residuals} null for a plain call). */
    private record Call(Member member, FloatTensor sample, ControlResiduals residuals, float[] eps) {}

    /** A stream's conditioning: a participant of the batching, with its own prepared conditioning for calls alone. */
    private final class Member implements Conditioning {
        final long id;
        final int[] shape;
        final long[] timesteps;
        final FloatTensor embeddings;
        final List<Integer> lane; // the shape of one latent row: calls that can be stacked
        Conditioning own;
        boolean closed; // guarded by modelLock

        Member(long id, int[] shape, long[] timesteps, FloatTensor embeddings) {
            this.id = id;
            this.shape = shape;
            this.timesteps = timesteps;
            this.embeddings = embeddings;
            this.lane = Arrays.stream(shape, 1, shape.length).boxed().toList();
        }

        BatchingUnet owner() {
            return BatchingUnet.this;
        }

        boolean isClosed() {
            synchronized (modelLock) {
                return closed;
            }
        }

        @Override
        public int[] sampleShape() {
            return shape.clone();
        }

        @Override
        public boolean fits(long[] t, FloatTensor sample) {
            return !isClosed() && Arrays.equals(timesteps, t) && sample.hasShape(shape);
        }

        /**
         * Leaves the batching: nobody waits for it (nor for its thread in the VAE's gathers of the
         * same group, until it calls again), and the stacked conditionings it was part of are freed.
         */
        @Override
        public void close() {
            gatherer.leave(this);
            synchronized (modelLock) {
                if (closed) return;
                closed = true;
                for (Iterator<Group> it = groups.values().iterator(); it.hasNext(); ) {
                    Group g = it.next();
                    if (g.members.contains(this)) {
                        it.remove();
                        g.conditioning.close();
                    }
                }
                own.close();
            }
        }

        @Override
        public String toString() {
            return "batched stream " + id + " (samples of " + Arrays.toString(shape) + " at timesteps " + Arrays.toString(timesteps) + ")";
        }
    }
}
