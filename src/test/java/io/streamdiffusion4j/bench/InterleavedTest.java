package io.streamdiffusion4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.RgbImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The order in which arms take their turns, with stand-in arms that log their turns (no timing involved). */
class InterleavedTest {
    /** A stand-in arm: logs each turn and the input it got; its "cost" is the turn's position in the log. */
    private static final class LoggingArm implements Arm {
        final String name;
        final List<String> log;
        final List<RgbImage> inputs = new ArrayList<>();

        LoggingArm(String name, List<String> log) {
            this.name = name;
            this.log = log;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String config() {
            return "stand-in";
        }

        @Override
        public ArmFrame run(RgbImage input) {
            log.add(name);
            inputs.add(input);
            return new ArmFrame(log.size(), 0, new int[] {1});
        }

        @Override
        public void close() {}
    }

    private static List<RgbImage> frames(int count) {
        List<RgbImage> f = new ArrayList<>();
        for (int i = 0; i < count; i++) f.add(new RgbImage(1, 1, new byte[] {(byte) i, 0, 0}));
        return f;
    }

    private static List<LoggingArm> arms(List<String> log, String... names) {
        return Arrays.stream(names).map(n -> new LoggingArm(n, log)).toList();
    }

    @Test
    void alternateRunsEveryArmOncePerRoundInTheSameOrder() {
        List<String> log = new ArrayList<>();
        List<List<ArmFrame>> m = Interleaved.run(arms(log, "A", "A2", "B"), frames(5), 1, 3, Order.ALTERNATE, 1);
        assertThat(String.join("", log)).isEqualTo("AA2B" + "AA2B" + "AA2B" + "AA2B");
        assertThat(m).hasSize(3).allSatisfy(series -> assertThat(series).hasSize(3));
        // the warm-up round is dropped: arm A's first measured frame is its second turn, the 4th run overall
        assertThat(m.get(0).getFirst().frameNanos()).isEqualTo(4);
    }

    @Test
    void abbaReversesEveryOtherRound() {
        List<String> log = new ArrayList<>();
        Interleaved.run(arms(log, "A", "B", "C"), frames(2), 0, 4, Order.ABBA, 1);
        assertThat(String.join("", log)).isEqualTo("ABC" + "CBA" + "ABC" + "CBA");
    }

    @Test
    void abbaWithTwoArmsIsTheClassicOrder() {
        List<String> log = new ArrayList<>();
        Interleaved.run(arms(log, "A", "B"), frames(2), 0, 4, Order.ABBA, 1);
        assertThat(String.join("", log)).isEqualTo("ABBAABBA");
    }

    @Test
    void randomOrderIsAPermutationPerRoundAndRepeatsWithItsSeed() {
        List<String> first = new ArrayList<>();
        Interleaved.run(arms(first, "A", "B", "C", "D"), frames(3), 2, 30, Order.RANDOM, 7);
        List<String> again = new ArrayList<>();
        Interleaved.run(arms(again, "A", "B", "C", "D"), frames(3), 2, 30, Order.RANDOM, 7);
        List<String> otherSeed = new ArrayList<>();
        Interleaved.run(arms(otherSeed, "A", "B", "C", "D"), frames(3), 2, 30, Order.RANDOM, 8);
        assertThat(again).isEqualTo(first);
        assertThat(otherSeed).isNotEqualTo(first);
        for (int r = 0; r < 32; r++) {
            assertThat(first.subList(4 * r, 4 * r + 4)).as("round " + r).containsExactlyInAnyOrder("A", "B", "C", "D");
        }
        // not always the same order: over 32 rounds, A must not always be first
        long aFirst = java.util.stream.IntStream.range(0, 32).filter(r -> first.get(4 * r).equals("A")).count();
        assertThat(aFirst).isBetween(1L, 31L);
    }

    @Test
    void orderOfOneRoundIsAPermutation() {
        for (Order o : Order.values()) {
            for (int round = 0; round < 5; round++) {
                int[] order = o.round(round, 5, new Random(round));
                assertThat(order).as(o + " round " + round).containsExactlyInAnyOrder(0, 1, 2, 3, 4);
            }
        }
    }

    @Test
    void everyArmGetsTheSameInputInARound() {
        List<String> log = new ArrayList<>();
        List<LoggingArm> arms = arms(log, "A", "B", "C");
        List<RgbImage> input = frames(3);
        Interleaved.run(arms, input, 1, 5, Order.RANDOM, 3);
        for (int r = 0; r < 6; r++) {
            RgbImage expected = input.get(r % 3);
            for (LoggingArm a : arms) assertThat(a.inputs.get(r)).as(a.name + " round " + r).isSameAs(expected);
        }
    }

    @Test
    void ordersParseByName() {
        assertThat(Order.parse("ABBA")).isEqualTo(Order.ABBA);
        assertThat(Order.parse(" random ")).isEqualTo(Order.RANDOM);
        assertThatThrownBy(() -> Order.parse("zigzag")).hasMessageContaining("unknown order 'zigzag'")
                .hasMessageContaining("alternate, abba or random");
    }
}
