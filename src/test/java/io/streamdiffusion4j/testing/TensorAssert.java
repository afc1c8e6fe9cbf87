package io.streamdiffusion4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.tensor.FloatTensor;

/** Element-wise comparison of tensors with a tolerance; returns the largest difference seen. */
public final class TensorAssert {
    private TensorAssert() {}

    public static double assertClose(String what, FloatTensor actual, FloatTensor expected, double tolerance) {
        assertThat(actual.size()).as(what + ": number of values of " + actual + " vs " + expected).isEqualTo(expected.size());
        return assertClose(what, actual.data(), expected.data(), tolerance);
    }

    public static double assertClose(String what, float[] actual, float[] expected, double tolerance) {
        assertThat(actual.length).as(what + ": length").isEqualTo(expected.length);
        double max = 0;
        int worst = -1;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs((double) actual[i] - expected[i]);
            if (!(d <= max)) {
                max = d;
                worst = i;
            }
        }
        if (worst >= 0) {
            assertThat(max).as(what + ": largest difference at index " + worst + " (actual " + actual[worst]
                    + ", expected " + expected[worst] + ")").isLessThanOrEqualTo(tolerance);
        }
        return max;
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs((double) a[i] - b[i]));
        return max;
    }
}
