package io.streamdiffusion4j.random;

/**
 * Python's {@code random} module for the one call the pipeline needs: {@code random.seed(n)}
 * with a non-negative int, then {@code random.uniform(0, 1)} (which is {@code random.random()}).
 * The original's similarity filter draws from it, so replaying a seed reproduces its skips.
 */
public final class PythonRandom implements UniformSource {
    private final Mt19937 engine = new Mt19937();

    public PythonRandom(long seed) {
        seed(seed);
    }

    /**
     * {@code random.seed(n)} for the unsigned 64-bit value {@code n} of a {@link TorchSeed} (a
     * negative {@code long} is a value of 2^63 or more): Python splits the integer into 32-bit
     * words, low word first, and drops leading zero words.
     */
    public void seed(long seed) {
        int[] key;
        if (seed >>> 32 == 0) {
            key = new int[] {(int) seed};
        } else {
            key = new int[] {(int) seed, (int) (seed >>> 32)};
        }
        engine.initByArray(key);
    }

    /** {@code random.random()}: 53 random bits in [0, 1). */
    public double random() {
        long a = engine.nextUnsigned() >>> 5;
        long b = engine.nextUnsigned() >>> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

    @Override
    public double nextUniform() {
        return random();
    }
}
