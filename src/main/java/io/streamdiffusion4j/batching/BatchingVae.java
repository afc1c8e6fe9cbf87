package io.streamdiffusion4j.batching;

import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.Vae;
import io.streamdiffusion4j.model.VaeDecoder;
import io.streamdiffusion4j.model.VaeEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The VAE encoder and decoder shared by several streams, their calls stacked like the UNet's
 * ({@link BatchingUnet}): each call waits at most the gather window for the other streams' calls
 * on images (or latents) of the same size, and one call of the wrapped model does all their
 * rows. The VAE has no per-stream conditioning, so a stream is known by the thread that calls:
 * each session runs its stream on a thread of its own. With the UNet in the same group, only the
 * threads of its participants (streams that call it with prepared conditioning) are gathered:
 * the calls of any other thread (a warm-up, a session's before its first UNet call or after it
 * closed its conditioning) run at once on their own and nobody waits for it. A thread that stops
 * calling is waited for once, then no more ({@link Gatherer}); one that ended, not at all. A call
 * gathering no one else runs on the wrapped model with the caller's own arrays, exactly as
 * without batching.
 *
 * <p>With the UNet gathered in the same {@link GatherGroup} (as {@link CrossSessionBatching} does),
 * a gather never waits for a stream whose thread waits in another gather: streams a stage apart
 * do not stall each other (the group's comment says why).
 *
 * <p>This does not own the wrapped VAE.
 */
public final class BatchingVae {
    private final Vae vae;
    private final GatherGroup group;
    private final Gatherer<Encode> encodes;
    private final Gatherer<Decode> decodes;
    private final Object encoderLock = new Object();
    private final Object decoderLock = new Object();
    private final BatchCounter encodeCounter = new BatchCounter();
    private final BatchCounter decodeCounter = new BatchCounter();
    // reused stacking arrays (guarded by the model's lock)
    private float[] encodeIn = new float[0];
    private float[] encodeMean = new float[0];
    private float[] encodeStd = new float[0];
    private float[] decodeIn = new float[0];
    private float[] decodeOut = new float[0];

    public BatchingVae(Vae vae, Duration window) {
        this(vae, new GatherGroup(window));
    }

    /** Gathers in {@code group}, with the other models of the same streams (see {@link CrossSessionBatching}). */
    public BatchingVae(Vae vae, GatherGroup group) {
        this.vae = Objects.requireNonNull(vae, "vae");
        this.group = Objects.requireNonNull(group, "group");
        this.encodes = new Gatherer<>(group, (works, g) -> runEncodes(works, g));
        this.decodes = new Gatherer<>(group, (works, g) -> runDecodes(works, g));
    }

    /** The batching VAE whose encoder {@code vae} has, if it has one of {@link #vae()}'s. */
    public static Optional<BatchingVae> behind(Vae vae) {
        return vae.encoder() instanceof Encoder e ? Optional.of(e.owner()) : Optional.empty();
    }

    /** The wrapped VAE with this batching encoder and decoder in place of its own. */
    public Vae vae() {
        return new Vae(new Encoder(), new Decoder(), vae.scalingFactor(), vae.latentChannels(), vae.name());
    }

    /** Reports each batched encoder and decoder call to these observers from now on (the server's metrics). */
    public void observe(GatherObserver encodes, GatherObserver decodes) {
        encodeCounter.observe(encodes);
        decodeCounter.observe(decodes);
    }

    /** What the encoder's batching did so far (its rows: images). */
    public BatchStats encodeStats() {
        return encodeCounter.stats();
    }

    /** What the decoder's batching did so far (its rows: latents). */
    public BatchStats decodeStats() {
        return decodeCounter.stats();
    }

    /** Calls made to the wrapped encoder and decoder (a stacked call counts once). */
    public long encodeCalls() {
        return encodeCounter.stats().modelCalls();
    }

    public long decodeCalls() {
        return decodeCounter.stats().modelCalls();
    }

    private record Encode(FloatTensor images, float[] mean, float[] std, boolean[] variational) {}

    private record Decode(FloatTensor latents, float[] images) {}

    private static List<Integer> lane(FloatTensor t) {
        int[] s = t.shape();
        return Arrays.stream(s, 1, s.length).boxed().toList();
    }

    private void runEncodes(List<Encode> works, Gatherer.Gathered gathered) {
        int batchRows = 0;
        for (Encode e : works) batchRows += e.images.rows();
        synchronized (encoderLock) {
            encode(works);
        }
        encodeCounter.modelCall(works.size(), batchRows, gathered);
    }

    /** One call of the wrapped encoder for all of {@code works} (holding its lock). */
    private void encode(List<Encode> works) {
        if (works.size() == 1) {
            Encode e = works.getFirst();
            e.variational[0] = vae.encoder().encodeInto(e.images, e.mean, e.std);
            return;
        }
        int rows = 0, in = 0, out = 0;
        for (Encode e : works) {
            rows += e.images.rows();
            in += e.images.size();
            out += e.mean.length;
        }
        if (encodeIn.length != in) encodeIn = new float[in];
        if (encodeMean.length != out) {
            encodeMean = new float[out];
            encodeStd = new float[out];
        }
        int off = 0;
        for (Encode e : works) {
            System.arraycopy(e.images.data(), 0, encodeIn, off, e.images.size());
            off += e.images.size();
        }
        boolean variational = vae.encoder().encodeInto(new FloatTensor(encodeIn, works.getFirst().images.shapeWithRows(rows)),
                encodeMean, encodeStd);
        off = 0;
        for (Encode e : works) {
            System.arraycopy(encodeMean, off, e.mean, 0, e.mean.length);
            if (variational) System.arraycopy(encodeStd, off, e.std, 0, e.std.length);
            e.variational[0] = variational;
            off += e.mean.length;
        }
    }

    private void runDecodes(List<Decode> works, Gatherer.Gathered gathered) {
        int batchRows = 0;
        for (Decode d : works) batchRows += d.latents.rows();
        synchronized (decoderLock) {
            decode(works);
        }
        decodeCounter.modelCall(works.size(), batchRows, gathered);
    }

    /** One call of the wrapped decoder for all of {@code works} (holding its lock). */
    private void decode(List<Decode> works) {
        if (works.size() == 1) {
            Decode d = works.getFirst();
            vae.decoder().decodeInto(d.latents, d.images);
            return;
        }
        int rows = 0, in = 0, out = 0;
        for (Decode d : works) {
            rows += d.latents.rows();
            in += d.latents.size();
            out += d.images.length;
        }
        if (decodeIn.length != in) decodeIn = new float[in];
        if (decodeOut.length != out) decodeOut = new float[out];
        int off = 0;
        for (Decode d : works) {
            System.arraycopy(d.latents.data(), 0, decodeIn, off, d.latents.size());
            off += d.latents.size();
        }
        vae.decoder().decodeInto(new FloatTensor(decodeIn, works.getFirst().latents.shapeWithRows(rows)), decodeOut);
        off = 0;
        for (Decode d : works) {
            System.arraycopy(decodeOut, off, d.images, 0, d.images.length);
            off += d.images.length;
        }
    }

    private final class Encoder implements VaeEncoder {
        BatchingVae owner() {
            return BatchingVae.this;
        }

        @Override
        public LatentDistribution encode(FloatTensor images) {
            return vae.encoder().encode(images);
        }

        @Override
        public boolean encodeInto(FloatTensor images, float[] mean, float[] std) {
            boolean[] variational = new boolean[1];
            Encode work = new Encode(images, mean, std, variational);
            encodeCounter.streamCall();
            if (group.isStream(Thread.currentThread())) {
                encodes.submit(lane(images), Thread.currentThread(), work);
            } else {
                runEncodes(List.of(work), Gatherer.Gathered.AT_ONCE);
            }
            return variational[0];
        }

        @Override
        public void close() {}
    }

    private final class Decoder implements VaeDecoder {
        @Override
        public FloatTensor decode(FloatTensor latents) {
            return vae.decoder().decode(latents);
        }

        @Override
        public void decodeInto(FloatTensor latents, float[] images) {
            Decode work = new Decode(latents, images);
            decodeCounter.streamCall();
            if (group.isStream(Thread.currentThread())) {
                decodes.submit(lane(latents), Thread.currentThread(), work);
            } else {
                runDecodes(List.of(work), Gatherer.Gathered.AT_ONCE);
            }
        }

        @Override
        public void close() {}
    }
}
