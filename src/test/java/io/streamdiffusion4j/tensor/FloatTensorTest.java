package io.streamdiffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The row arithmetic every pipeline stage relies on: shapes, row copies, concatenation, repetition. */
class FloatTensorTest {

    private static FloatTensor counting(int... shape) {
        float[] d = new float[Math.toIntExact(FloatTensor.numel(shape))];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return new FloatTensor(d, shape);
    }

    @Test
    void shapeMustMatchTheNumberOfValues() {
        assertThatThrownBy(() -> new FloatTensor(new float[5], 2, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 3]").hasMessageContaining("needs 6").hasMessageContaining("got 5");
        assertThat(new FloatTensor(new float[6], 2, 3).size()).isEqualTo(6);
    }

    @Test
    void numelIsTheProductOfTheDimensionsAndRejectsNegativeOnes() {
        assertThat(FloatTensor.numel(2, 3, 4)).isEqualTo(24);
        assertThat(FloatTensor.numel()).as("a scalar holds one value").isEqualTo(1);
        assertThat(FloatTensor.numel(3, 0, 5)).isZero();
        assertThat(FloatTensor.numel(100_000, 100_000)).as("no int overflow").isEqualTo(10_000_000_000L);
        assertThatThrownBy(() -> FloatTensor.numel(2, -1)).hasMessageContaining("negative dimension in [2, -1]");
    }

    @Test
    void zerosHasTheShapeAndOnlyZeros() {
        FloatTensor z = FloatTensor.zeros(2, 3, 4);
        assertThat(z.shape()).containsExactly(2, 3, 4);
        assertThat(z.data()).hasSize(24).containsOnly(0f);
    }

    @Test
    void shapeAccessorsDescribeTheLayout() {
        FloatTensor t = counting(3, 2, 5);
        assertThat(t.rank()).isEqualTo(3);
        assertThat(t.dim(0)).isEqualTo(3);
        assertThat(t.dim(2)).isEqualTo(5);
        assertThat(t.rows()).isEqualTo(3);
        assertThat(t.rowSize()).isEqualTo(10);
        assertThat(t.shapeAsLongs()).containsExactly(3L, 2L, 5L);
        assertThat(t.shapeWithRows(7)).containsExactly(7, 2, 5);
        assertThat(t.shape()).as("shapeWithRows leaves the tensor alone").containsExactly(3, 2, 5);
        assertThat(FloatTensor.zeros(0, 4).rowSize()).as("no rows, no row size").isZero();
        assertThat(t.toString()).isEqualTo("FloatTensor[3, 2, 5]");
    }

    @Test
    void theShapeCannotBeChangedFromOutside() {
        int[] shape = {2, 3};
        FloatTensor t = new FloatTensor(new float[6], shape);
        shape[0] = 99;
        t.shape()[1] = 99;
        assertThat(t.shape()).containsExactly(2, 3);
    }

    @Test
    void rowsCopiesAHalfOpenRangeOfRows() {
        FloatTensor t = counting(4, 3);
        FloatTensor middle = t.rows(1, 3);
        assertThat(middle.shape()).containsExactly(2, 3);
        assertThat(middle.data()).containsExactly(3, 4, 5, 6, 7, 8);
        middle.data()[0] = -1;
        assertThat(t.data()[3]).as("a copy").isEqualTo(3f);
        assertThat(t.rows(0, 4).data()).containsExactly(t.data());
        assertThat(t.rows(2, 2).rows()).isZero();
    }

    @Test
    void rowsOutsideTheTensorAreAnError() {
        FloatTensor t = counting(4, 3);
        assertThatThrownBy(() -> t.rows(-1, 2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("rows [-1, 2) of 4");
        assertThatThrownBy(() -> t.rows(0, 5)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> t.rows(3, 2)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void concatRowsStacksTensorsOfTheSameRowShape() {
        FloatTensor a = counting(1, 2, 2);
        FloatTensor b = new FloatTensor(new float[] {10, 11, 12, 13, 14, 15, 16, 17}, 2, 2, 2);
        FloatTensor ab = FloatTensor.concatRows(a, b);
        assertThat(ab.shape()).containsExactly(3, 2, 2);
        assertThat(ab.data()).containsExactly(0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17);
        assertThat(FloatTensor.concatRows(b).data()).containsExactly(b.data());
    }

    @Test
    void concatRowsRejectsOtherRowShapesAndNothing() {
        FloatTensor a = counting(1, 2, 2);
        assertThatThrownBy(() -> FloatTensor.concatRows(a, counting(1, 4)))
                .hasMessageContaining("cannot concatenate [1, 4] with [1, 2, 2]");
        assertThatThrownBy(() -> FloatTensor.concatRows(a, counting(1, 2, 3)))
                .hasMessageContaining("cannot concatenate [1, 2, 3]");
        assertThatThrownBy(() -> FloatTensor.concatRows()).hasMessageContaining("nothing to concatenate");
    }

    @Test
    void repeatRowsRepeatsTheWholeTensor() {
        FloatTensor t = counting(1, 3);
        FloatTensor r = t.repeatRows(3);
        assertThat(r.shape()).containsExactly(3, 3);
        assertThat(r.data()).containsExactly(0, 1, 2, 0, 1, 2, 0, 1, 2);
        assertThat(counting(2, 1).repeatRows(2).shape()).as("rows multiply").containsExactly(4, 1);
    }

    @Test
    void copyIsIndependentAndReshapeSharesTheValues() {
        FloatTensor t = counting(2, 3);
        FloatTensor copy = t.copy();
        FloatTensor view = t.reshape(3, 2);
        t.data()[0] = 42;
        assertThat(copy.data()[0]).isZero();
        assertThat(copy.shape()).containsExactly(2, 3);
        assertThat(view.data()[0]).isEqualTo(42f);
        assertThat(view.shape()).containsExactly(3, 2);
        assertThatThrownBy(() -> t.reshape(4, 2)).isInstanceOf(IllegalArgumentException.class);
    }
}
