package io.streamdiffusion4j.model;

import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What ControlNets add to a UNet call: one residual per down-block output the UNet keeps for its
 * skip connections ({@code down_block_res_0..N-1}, 12 for the SD layouts) and one for the middle
 * block ({@code mid_block_res}), each with the UNet batch's rows first, already multiplied by the
 * ControlNet's conditioning scale. Several ControlNets are combined by adding their residuals
 * ({@link #add}), as diffusers' {@code MultiControlNetModel} does.
 */
public record ControlResiduals(List<FloatTensor> down, FloatTensor mid) {

    public ControlResiduals {
        down = List.copyOf(down);
        if (down.isEmpty()) throw new IllegalArgumentException("ControlNet residuals need at least one down-block residual");
    }

    /** Zero residuals of these shapes (down blocks, then the middle block last). */
    public static ControlResiduals zeros(List<int[]> shapes) {
        if (shapes.size() < 2) throw new IllegalArgumentException("expected down-block and mid-block shapes, found " + shapes.size());
        List<FloatTensor> d = new ArrayList<>();
        for (int[] s : shapes.subList(0, shapes.size() - 1)) d.add(FloatTensor.zeros(s));
        return new ControlResiduals(d, FloatTensor.zeros(shapes.getLast()));
    }

    /** The shapes, down blocks first and the middle block last (the order of {@link #zeros}). */
    public List<int[]> shapes() {
        List<int[]> s = new ArrayList<>();
        for (FloatTensor t : down) s.add(t.shape());
        s.add(mid.shape());
        return s;
    }

    /** Down blocks then the middle block, in the UNet's input order. */
    public List<FloatTensor> all() {
        List<FloatTensor> a = new ArrayList<>(down);
        a.add(mid);
        return a;
    }

    /** Overwrites these residuals with {@code other}'s (same shapes). */
    public void copyFrom(ControlResiduals other) {
        List<FloatTensor> to = all(), from = other.all();
        requireSameShapes(to, from);
        for (int i = 0; i < to.size(); i++) System.arraycopy(from.get(i).data(), 0, to.get(i).data(), 0, to.get(i).size());
    }

    /** Adds {@code other}'s residuals to these, element by element (same shapes). */
    public void add(ControlResiduals other) {
        List<FloatTensor> to = all(), from = other.all();
        requireSameShapes(to, from);
        for (int i = 0; i < to.size(); i++) {
            float[] a = to.get(i).data();
            float[] b = from.get(i).data();
            for (int j = 0; j < a.length; j++) a[j] += b[j];
        }
    }

    /** Whether {@code other} has the same number of residuals with the same shapes. */
    public boolean sameShapes(ControlResiduals other) {
        List<int[]> a = shapes(), b = other.shapes();
        if (a.size() != b.size()) return false;
        for (int i = 0; i < a.size(); i++) if (!Arrays.equals(a.get(i), b.get(i))) return false;
        return true;
    }

    private static void requireSameShapes(List<FloatTensor> a, List<FloatTensor> b) {
        boolean same = a.size() == b.size();
        for (int i = 0; same && i < a.size(); i++) same = Arrays.equals(a.get(i).shape(), b.get(i).shape());
        if (!same) {
            throw new IllegalArgumentException("ControlNet residuals do not match: " + a + " vs " + b
                    + " (ControlNets used together must be made for the same UNet layout)");
        }
    }
}
