package io.streamdiffusion4j.bench;

/**
 * What one frame of an arm cost: its wall time, the time inside the UNet, and the batch rows
 * of each UNet call it made (counted at the model interface).
 */
record ArmFrame(long frameNanos, long unetNanos, int[] rowsPerCall) {
    ArmFrame {
        rowsPerCall = rowsPerCall.clone();
    }

    int calls() {
        return rowsPerCall.length;
    }

    long rows() {
        long sum = 0;
        for (int r : rowsPerCall) sum += r;
        return sum;
    }

    @Override
    public int[] rowsPerCall() {
        return rowsPerCall.clone();
    }
}
