package io.streamdiffusion4j.pipeline;

import io.streamdiffusion4j.tensor.FloatTensor;

/**
 * A live prompt change spread over N frames: the k-th generated frame after the change (k = 1..N)
 * is conditioned on {@link Blending#between}(from, to, k / N), so frame N and every later one use
 * the new embedding exactly. {@code from} is whatever the stream was conditioned on when the
 * change came (mid-way through an earlier transition, that point).
 */
final class PromptTransition {
    private final FloatTensor from;
    private final FloatTensor to;
    private final int frames;
    private final Interpolation interpolation;
    private int frame;
    private FloatTensor current;

    PromptTransition(FloatTensor from, FloatTensor to, int frames, Interpolation interpolation) {
        if (frames < 1) throw new IllegalArgumentException("a transition needs at least one frame, found " + frames);
        this.from = from;
        this.to = to;
        this.frames = frames;
        this.interpolation = interpolation;
        this.current = from;
    }

    /** The embedding the stream is conditioned on now (before the first frame: {@code from}). */
    FloatTensor current() {
        return current;
    }

    /** Moves to the next frame's embedding and returns it. */
    FloatTensor advance() {
        if (frame < frames) frame++;
        current = frame == frames ? to : Blending.between(from, to, (double) frame / frames, interpolation);
        return current;
    }

    boolean done() {
        return frame >= frames;
    }
}
