package io.streamdiffusion4j.random;

import java.math.BigInteger;

/**
 * Seeds as {@code torch.manual_seed} takes them: any integer in [-2^63, 2^64 - 1]. Torch reads
 * the value as an unsigned 64-bit integer, and a negative one as its two's complement (so -1 is
 * 2^64 - 1); {@code initial_seed()} then returns that unsigned value, and its MT19937 engine uses
 * the low 32 bits of it. This project holds a seed as those 64 bits in a {@code long}: a negative
 * {@code long} stands for a seed of 2^63 or more. Every consumer reads it that way:
 * {@link TorchGenerator} (the low 32 bits, as torch) and {@link PythonRandom} (the whole
 * unsigned value, as {@code random.seed(generator.initial_seed())} would).
 */
public final class TorchSeed {
    /** The smallest seed torch accepts. */
    public static final BigInteger MIN = BigInteger.valueOf(Long.MIN_VALUE);
    /** The largest seed torch accepts. */
    public static final BigInteger MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private TorchSeed() {}

    /** Whether torch's manual_seed accepts the value. */
    public static boolean inRange(BigInteger value) {
        return value.compareTo(MIN) >= 0 && value.compareTo(MAX) <= 0;
    }

    /**
     * The seed torch keeps for a value it accepts, as 64 bits.
     *
     * @throws IllegalArgumentException when torch would refuse the value (outside [-2^63, 2^64 - 1])
     */
    public static long of(BigInteger value) {
        if (!inRange(value)) {
            throw new IllegalArgumentException("seed must be an integer in [" + MIN + ", " + MAX + "], found " + value);
        }
        return value.longValue(); // the low 64 bits: a negative value wraps exactly as torch's reinterpretation
    }

    /** The seed as torch's initial_seed() reports it: the unsigned value. */
    public static BigInteger unsigned(long seed) {
        return new BigInteger(Long.toUnsignedString(seed));
    }
}
