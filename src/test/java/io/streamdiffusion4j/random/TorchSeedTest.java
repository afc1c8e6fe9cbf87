package io.streamdiffusion4j.random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import org.junit.jupiter.api.Test;

/**
 * Seeds over the whole range torch.manual_seed takes (the original demo's page draws seeds up to
 * 2^53): torch reinterprets a negative seed as unsigned and seeds its engine with the low 32
 * bits; random.seed of the unsigned value uses all of it.
 */
class TorchSeedTest {
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

    @Test
    void acceptsWhatTorchAcceptsAndWrapsNegativesToUnsigned() {
        assertThat(TorchSeed.of(BigInteger.valueOf(-1))).isEqualTo(TorchSeed.of(TWO_64.subtract(BigInteger.ONE)));
        assertThat(TorchSeed.unsigned(TorchSeed.of(BigInteger.valueOf(-5)))).isEqualTo(TWO_64.subtract(BigInteger.valueOf(5)));
        assertThat(TorchSeed.unsigned(TorchSeed.of(BigInteger.valueOf(Long.MIN_VALUE)))).isEqualTo(BigInteger.ONE.shiftLeft(63));
        long pageSeed = 8_987_654_321_012_345L; // Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)
        assertThat(TorchSeed.of(BigInteger.valueOf(pageSeed))).isEqualTo(pageSeed);
        assertThatThrownBy(() -> TorchSeed.of(TWO_64)).hasMessageContaining("[-9223372036854775808, 18446744073709551615]");
        assertThatThrownBy(() -> TorchSeed.of(BigInteger.valueOf(Long.MIN_VALUE).subtract(BigInteger.ONE)))
                .hasMessageContaining("found -9223372036854775809");
    }

    /** torch.manual_seed(s) seeds MT19937 with s & 0xffffffff: seeds equal in their low 32 bits draw the same noise. */
    @Test
    void torchNoiseDependsOnTheLow32Bits() {
        float[] five = new TorchGenerator(5).randn(64).data();
        assertThat(new TorchGenerator((1L << 32) + 5).randn(64).data()).isEqualTo(five);
        assertThat(new TorchGenerator(TorchSeed.of(TWO_64.subtract(BigInteger.ONE))).randn(64).data())
                .isEqualTo(new TorchGenerator(0xFFFF_FFFFL).randn(64).data());
        assertThat(new TorchGenerator(6).randn(64).data()).isNotEqualTo(five);
    }

    /** Values printed by CPython 3: random.seed(s); random.random(), for the unsigned seed s. */
    @Test
    void pythonRandomUsesTheWholeUnsignedSeed() {
        assertThat(new PythonRandom(5).random()).isEqualTo(0.6229016948897019);
        assertThat(new PythonRandom((1L << 32) + 5).random()).isEqualTo(0.15727238718789782);
        assertThat(new PythonRandom(8_987_654_321_012_345L).random()).isEqualTo(0.28555493948384103);
        assertThat(new PythonRandom(TorchSeed.of(BigInteger.ONE.shiftLeft(63))).random()).isEqualTo(0.5534639983914199);
        PythonRandom max = new PythonRandom(TorchSeed.of(BigInteger.valueOf(-1))); // 2^64 - 1
        assertThat(max.random()).isEqualTo(0.021825695401270107);
        assertThat(max.random()).isEqualTo(0.3380953268613758);
    }
}
