package io.streamdiffusion4j.scheduler;

import java.util.Arrays;

/**
 * Everything the stream needs per denoising step, pre-computed once in {@code prepare}: the
 * timestep of each entry of {@code t_index_list}, sqrt(alpha_bar) and sqrt(1 - alpha_bar) for
 * adding noise and for the epsilon-to-x0 conversion, and the LCM boundary scalings c_skip and
 * c_out. Arrays are indexed by step (0 = the noisiest, where a new frame enters).
 */
public record LcmCoefficients(
        int[] timestepSchedule,
        int[] tIndexList,
        int[] timesteps,
        float[] alphaProdSqrt,
        float[] betaProdSqrt,
        float[] cSkip,
        float[] cOut) {

    public static LcmCoefficients compute(LcmScheduler scheduler, int numInferenceSteps, int[] tIndexList) {
        if (tIndexList.length == 0) throw new IllegalArgumentException("t_index_list must not be empty");
        int[] schedule = scheduler.timesteps(numInferenceSteps);
        int n = tIndexList.length;
        int[] ts = new int[n];
        float[] a = new float[n];
        float[] b = new float[n];
        float[] skip = new float[n];
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            int index = tIndexList[i];
            if (index < 0 || index >= schedule.length) {
                throw new IllegalArgumentException("t_index_list entry " + index + " is outside [0, "
                        + (schedule.length - 1) + "] (num_inference_steps is " + numInferenceSteps + ")");
            }
            int t = schedule[index];
            ts[i] = t;
            a[i] = scheduler.alphaProdSqrt(t);
            b[i] = scheduler.betaProdSqrt(t);
            skip[i] = scheduler.cSkip(t);
            out[i] = scheduler.cOut(t);
        }
        return new LcmCoefficients(schedule, tIndexList.clone(), ts, a, b, skip, out);
    }

    public int steps() {
        return timesteps.length;
    }

    @Override
    public String toString() {
        return "LcmCoefficients[t_index_list=" + Arrays.toString(tIndexList) + ", timesteps="
                + Arrays.toString(timesteps) + "]";
    }
}
