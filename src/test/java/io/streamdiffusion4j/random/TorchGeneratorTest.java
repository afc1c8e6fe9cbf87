package io.streamdiffusion4j.random;

import static io.streamdiffusion4j.random.FloatBits.assertBitExact;
import static io.streamdiffusion4j.random.FloatBits.bits;
import static io.streamdiffusion4j.random.FloatBits.crc32;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

/**
 * Bit-exact parity with PyTorch 1.13's CPU {@code torch.randn} (float32, AVX2 kernel). All
 * reference values were computed by torch 1.13.0 {@code torch.randn(shape,
 * generator=torch.Generator().manual_seed(seed))} on x86-64 with CPU capability AVX2.
 */
class TorchGeneratorTest {

    @Test
    void matchesTheFixtureInitNoiseBitForBit() throws Exception {
        // init_noise.npy is torch.randn((2, 4, 8, 8), generator=Generator().manual_seed(2)).
        FloatTensor expected = Npy.readFloats(Fixtures.tensor("init_noise"));
        FloatTensor actual = new TorchGenerator(2).randn(2, 4, 8, 8);

        assertThat(actual.shape()).containsExactly(2, 4, 8, 8);
        assertThat(bits(actual.data())).containsExactly(bits(expected.data()));
        // The value that libm log/sin/cos get wrong in the last bits (they give -0.76307744).
        assertThat(Float.floatToIntBits(actual.data()[305])).isEqualTo(Float.floatToIntBits(-0.76307607f));
    }

    @Test
    void sixteenValuesAreOneBoxMullerBlock() {
        // torch 1.13.0: torch.randn((16,), generator=Generator().manual_seed(7))
        float[] torch = {
            -0.8201345f, 0.39563116f, 0.8989085f, -1.3884039f, -0.16699602f, 0.28514996f, -0.6410915f,
            -0.8936554f, 0.926543f, -0.5355122f, -1.1597203f, -0.46015716f, 0.70853907f, 1.0127554f,
            0.23039687f, 1.0901651f};
        assertBitExact(new TorchGenerator(7).randn(16).data(), torch);
    }

    @Test
    void sizeNotAMultipleOfSixteenRedrawsTheLastBlock() {
        // torch 1.13.0: torch.randn((17,), generator=Generator().manual_seed(42))
        float[] torch = {
            1.9269153f, -0.15959747f, -0.49739754f, 0.43958926f, -0.75813115f, 1.0783176f, 0.80080056f,
            1.6806206f, 0.3558599f, 1.2964228f, 0.6104665f, 1.3347378f, -0.23162432f, 0.04175949f,
            -0.2515753f, 0.8598585f, -0.30972677f};
        assertBitExact(new TorchGenerator(42).randn(17).data(), torch);
    }

    @Test
    void fewerThanSixteenValuesUseTheDoublePath() {
        // torch 1.13.0: torch.randn((5,), generator=Generator().manual_seed(0))
        float[] torch = {1.5409961f, -0.2934289f, -2.1787894f, 0.56843126f, -1.0845224f};
        assertBitExact(new TorchGenerator(0).randn(5).data(), torch);
    }

    @Test
    void seedUsesTheLow32BitsAndTailIsRecomputed() {
        // torch 1.13.0: torch.randn((3, 33), generator=Generator().manual_seed(2**32 - 1)),
        // values 0, 50, 82, 83 and 98 (83..98 are the redrawn last block), and the CRC-32 of all 99
        // values as little-endian float32 bytes.
        float[] data = new TorchGenerator(0xFFFF_FFFFL).randn(3, 33).data();
        int[] at = {0, 50, 82, 83, 98};
        float[] torch = {-2.6642976f, -1.5167536f, -0.3031648f, 0.15812498f, -0.8279936f};
        float[] picked = new float[at.length];
        for (int i = 0; i < at.length; i++) picked[i] = data[at[i]];
        assertBitExact(picked, torch);
        assertThat(crc32(data)).isEqualTo(0xf991df27L);
    }

    @Test
    void latentSizedTensorMatchesEverywhere() {
        // torch 1.13.0: torch.randn((1, 4, 64, 64), generator=Generator().manual_seed(12345)):
        // a few values, and the CRC-32 of all 16384 as little-endian float32 bytes.
        float[] data = new TorchGenerator(12345).randn(1, 4, 64, 64).data();
        int[] at = {0, 1, 7, 8, 15, 16, 1000, 8191, 16383};
        float[] torch = {
            -1.4798077f, 0.487306f, -1.2814684f, 2.4111958f, 0.18675473f, 0.95892775f, -0.45513076f,
            1.5284607f, 1.7388468f};
        float[] picked = new float[at.length];
        for (int i = 0; i < at.length; i++) picked[i] = data[at[i]];
        assertBitExact(picked, torch);
        assertThat(crc32(data)).isEqualTo(0x80a87994L);
    }

    @Test
    void manualSeedRestartsTheStream() {
        TorchGenerator generator = new TorchGenerator(5);
        float[] first = generator.randn(3, 7).data();
        generator.randn(40);
        generator.manualSeed(5);
        assertThat(bits(generator.randn(3, 7).data())).containsExactly(bits(first));
    }
}
