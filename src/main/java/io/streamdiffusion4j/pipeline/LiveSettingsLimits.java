package io.streamdiffusion4j.pipeline;

import java.util.Arrays;
import java.util.List;

/**
 * The bounds of the settings a user may change while a stream runs, whoever sends them: a live
 * command on the CLI's standard input or a web client's settings message. Both check here, so a
 * value refused on one is refused on the other. Each check throws an IllegalArgumentException
 * that names the setting, the allowed range and the value found; nothing is changed by a refused
 * value. (The seed's range is the web's and the pipeline's own concern, not bounded here.)
 */
public final class LiveSettingsLimits {
    /** Longer texts are refused (CLIP reads 77 tokens anyway; this bounds the work per message). */
    public static final int MAX_PROMPT_CHARS = 1000;
    /** At most this many denoising steps in a t_index_list (each one is a UNet batch row per frame). */
    public static final int MAX_STEPS = 4;
    public static final Range GUIDANCE_SCALE = new Range("guidance_scale", 0, 10);
    public static final Range DELTA = new Range("delta", 0, 5);
    /** A ControlNet's conditioning scale (0 turns it off without unloading it; diffusers' UIs offer 0 to 2). */
    public static final Range CONTROLNET_SCALE = new Range("controlnet scale", 0, 2);
    /** At most this many ControlNets at once (each is a model call per frame as large as the UNet's encoder half). */
    public static final int MAX_CONTROLNETS = 4;
    public static final Range FILTER_THRESHOLD = new Range("similar_image_filter.threshold", 0, 1);
    public static final int MAX_SKIP_FRAME = 100;
    /** At most this many entries in a prompt_list or seed_list (each prompt is a text-encoder run, each seed a noise draw). */
    public static final int MAX_BLEND_ENTRIES = 8;
    /** A prompt change may be spread over at most this many frames. */
    public static final int MAX_TRANSITION_FRAMES = 1000;

    private LiveSettingsLimits() {}

    /** A closed interval of allowed values for one setting. */
    public record Range(String name, double min, double max) {
        public boolean contains(double v) {
            return v >= min && v <= max; // false for NaN
        }

        /** The value when it is inside, else an error naming the setting, the range and the value. */
        public double check(double v) {
            if (!contains(v)) throw new IllegalArgumentException(name + " must be in " + this + ", found " + format(v));
            return v;
        }

        @Override
        public String toString() {
            return "[" + format(min) + ", " + format(max) + "]";
        }
    }

    /** A prompt or negative prompt, refused when longer than {@link #MAX_PROMPT_CHARS}. */
    public static String checkPrompt(String name, String text) {
        if (text.length() > MAX_PROMPT_CHARS) {
            throw new IllegalArgumentException(name + " is " + text.length() + " characters; the limit is " + MAX_PROMPT_CHARS);
        }
        return text;
    }

    /**
     * A t_index_list for a stream of {@code numInferenceSteps} scheduler steps: 1 to
     * {@link #MAX_STEPS} entries, each in [0, numInferenceSteps - 1], strictly increasing.
     */
    public static List<Integer> checkTIndexList(List<Integer> tIndexList, int numInferenceSteps) {
        if (tIndexList.isEmpty() || tIndexList.size() > MAX_STEPS) {
            throw new IllegalArgumentException("t_index_list must have 1 to " + MAX_STEPS + " entries, found " + tIndexList.size());
        }
        int previous = -1;
        for (int t : tIndexList) {
            if (t < 0 || t >= numInferenceSteps) {
                throw new IllegalArgumentException("t_index_list entry " + t + " is outside [0, " + (numInferenceSteps - 1)
                        + "] (num_inference_steps is " + numInferenceSteps + ")");
            }
            if (t <= previous) throw new IllegalArgumentException("t_index_list must increase, found " + tIndexList);
            previous = t;
        }
        return tIndexList;
    }

    public static int[] checkTIndexList(int[] tIndexList, int numInferenceSteps) {
        checkTIndexList(Arrays.stream(tIndexList).boxed().toList(), numInferenceSteps);
        return tIndexList;
    }

    /** The similarity filter's max_skip_frame: a whole number in [0, {@link #MAX_SKIP_FRAME}]. */
    public static int checkMaxSkipFrame(double maxSkipFrame) {
        if (!(maxSkipFrame >= 0 && maxSkipFrame <= MAX_SKIP_FRAME)) {
            throw new IllegalArgumentException("similar_image_filter.max_skip_frame must be in [0, " + MAX_SKIP_FRAME + "], found "
                    + format(maxSkipFrame));
        }
        if (maxSkipFrame != Math.rint(maxSkipFrame)) {
            throw new IllegalArgumentException("similar_image_filter.max_skip_frame must be a whole number, found "
                    + format(maxSkipFrame));
        }
        return (int) maxSkipFrame;
    }

    /** One weight of a prompt_list or seed_list: finite and >= 0. */
    public static double checkBlendWeight(String name, double weight) {
        if (!(weight >= 0) || !Double.isFinite(weight)) {
            throw new IllegalArgumentException(name + " weights must be finite and >= 0, found " + weight);
        }
        return weight;
    }

    /** A prompt_list or seed_list: 1 to {@link #MAX_BLEND_ENTRIES} entries whose weights are not all 0. */
    public static void checkBlendSize(String name, int entries, double[] weights) {
        if (entries < 1 || entries > MAX_BLEND_ENTRIES) {
            throw new IllegalArgumentException(name + " must have 1 to " + MAX_BLEND_ENTRIES + " entries, found " + entries);
        }
        double sum = 0;
        for (double w : weights) sum += checkBlendWeight(name, w);
        if (!(sum > 0) || !Double.isFinite(sum)) {
            throw new IllegalArgumentException(name + " weights must not all be 0 (and their sum must be finite)");
        }
    }

    /** prompt_transition_frames: a whole number in [0, {@link #MAX_TRANSITION_FRAMES}] (0: change at once). */
    public static int checkTransitionFrames(double frames) {
        if (!(frames >= 0 && frames <= MAX_TRANSITION_FRAMES) || frames != Math.rint(frames)) {
            throw new IllegalArgumentException("prompt_transition_frames must be a whole number in [0, " + MAX_TRANSITION_FRAMES
                    + "], found " + format(frames));
        }
        return (int) frames;
    }

    private static String format(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
