package io.streamdiffusion4j.random;

import static io.streamdiffusion4j.random.FloatBits.assertBitExact;
import static io.streamdiffusion4j.random.FloatBits.bits;
import static io.streamdiffusion4j.random.FloatBits.crc32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * {@code torch.randn_like} of a channels-last float32 tensor: torch's scalar double-precision
 * sampler in NHWC memory order, bit for bit.
 *
 * <p>All expected values were measured with Debian's python3-torch 1.13.1 (reports
 * {@code 1.13.0a0}, CPU capability AVX2, x86-64) as
 * <pre>
 * torch.manual_seed(seed)
 * x = torch.empty(shape).to(memory_format=torch.channels_last)
 * r = torch.randn_like(x)              # r keeps x's strides
 * r.contiguous().flatten()[i]          # NCHW index order, as float32
 * zlib.crc32(r.contiguous().numpy().astype('&lt;f4').tobytes())   # the CRC-32s below
 * </pre>
 * Beyond these, 5,456,720 values (seeds 0-199 of (1,4,64,64), and seeds 200-259 each drawing
 * in a row channels-last (2,4,40,56), contiguous (2,4,40,56), channels-last (1,3,3,3),
 * contiguous (5,) and (17,), channels-last (3,4,5,7), contiguous (1,), channels-last (1,4,1,1)
 * and (2,1,3,3)) were compared with this class outside the test suite: all bit-identical.
 */
class TorchGeneratorChannelsLastTest {

    @Test
    void issueElevenCheckValues() {
        // torch.manual_seed(5); torch.randn_like(channels-last (1,4,8,8)): NCHW order
        // -0.4868, -0.1974, 0.6312; memory (NHWC) order -0.4868, -0.6038, -0.5581
        // (memory index 1 and 2 are channels 1 and 2 of pixel 0: NCHW index 64 and 128).
        float[] r = new TorchGenerator(5).randnLike(MemoryFormat.CHANNELS_LAST, 1, 4, 8, 8).data();
        assertBitExact(pick(r, 0, 1, 2), -0.48678076f, -0.1974151f, 0.6312134f);
        assertBitExact(pick(r, 0, 64, 128), -0.48678076f, -0.6038216f, -0.55809623f);
        assertThat(crc32(r)).isEqualTo(0x0d13ab79L);
        // The contiguous draw the pipeline used to make there (torch.randn((1,4,8,8)) after seed 5).
        float[] contiguous = new TorchGenerator(5).randnLike(MemoryFormat.CONTIGUOUS, 1, 4, 8, 8).data();
        assertBitExact(pick(contiguous, 0, 1, 2), 1.8423299f, 0.51888716f, -1.7119213f);
    }

    @Test
    void latentSizedDraw() {
        // seed 12345, (1,4,64,64): values at NCHW 0, 1, 2, 8192, 16383 and the CRC-32 of all.
        float[] r = new TorchGenerator(12345).randnLike(MemoryFormat.CHANNELS_LAST, 1, 4, 64, 64).data();
        assertBitExact(pick(r, 0, 1, 2, 8192, 16383), 1.4271305f, -0.45599058f, 0.08106218f, -1.1962104f, 0.63210195f);
        assertThat(crc32(r)).isEqualTo(0xc47d030aL);
    }

    @Test
    void sizesBelowAtAndAboveSixteenAndOddShapes() {
        // seed 0, (1,4,8,8)
        float[] a = new TorchGenerator(0).randnLike(MemoryFormat.CHANNELS_LAST, 1, 4, 8, 8).data();
        assertBitExact(pick(a, 0, 1, 2, 128, 255), 1.5409961f, -1.0845224f, -0.7192576f, -2.1787894f, -1.7699908f);
        assertThat(crc32(a)).isEqualTo(0x53124d1dL);
        // seed 42, (2,4,3,5): batch of two, odd height and width
        float[] b = new TorchGenerator(42).randnLike(MemoryFormat.CHANNELS_LAST, 2, 4, 3, 5).data();
        assertBitExact(pick(b, 0, 1, 2, 60, 119), 0.33669037f, -1.1228564f, 0.46165723f, 1.5980384f, -0.31780684f);
        assertThat(crc32(b)).isEqualTo(0x9fd1c46fL);
        // seed 7, (1,4,2,2): exactly 16 values, still the scalar path (not contiguous)
        float[] c = new TorchGenerator(7).randnLike(MemoryFormat.CHANNELS_LAST, 1, 4, 2, 2).data();
        assertBitExact(pick(c, 0, 1, 2, 8, 15), -0.1467951f, 1.6907902f, 0.13817266f, 0.94682163f, 1.3470227f);
        assertThat(crc32(c)).isEqualTo(0x18332888L);
        // seed 1, (1,2,1,3): 6 values
        float[] d = new TorchGenerator(1).randnLike(MemoryFormat.CHANNELS_LAST, 1, 2, 1, 3).data();
        assertBitExact(pick(d, 0, 1, 2, 3, 5), 0.66135216f, 0.06167726f, -0.45190597f, 0.2669241f, -0.16613023f);
        assertThat(crc32(d)).isEqualTo(0xa77950fcL);
        // seed 123, (3,4,5,7)
        float[] e = new TorchGenerator(123).randnLike(MemoryFormat.CHANNELS_LAST, 3, 4, 5, 7).data();
        assertBitExact(pick(e, 0, 1, 2, 210, 419), -0.111467116f, -1.1969243f, 0.32390276f, -0.31006625f, 0.0062804064f);
        assertThat(crc32(e)).isEqualTo(0xe0704769L);
        // seed 2^32 - 1, (2,4,1,9): one row per image
        float[] f = new TorchGenerator(0xFFFF_FFFFL).randnLike(MemoryFormat.CHANNELS_LAST, 2, 4, 1, 9).data();
        assertBitExact(pick(f, 0, 1, 2, 36, 71), 1.219763f, -0.0755102f, -0.26449686f, 0.82122344f, 0.93103117f);
        assertThat(crc32(f)).isEqualTo(0x6f8696b7L);
    }

    @Test
    void channelsLastWithContiguousStridesIsDrawnAsContiguous() {
        // (1,4,1,1) and (2,1,3,3) in channels_last have contiguous strides: x.is_contiguous() is
        // True in torch, so (2,1,3,3), 18 values, takes the vectorised path.
        float[] a = new TorchGenerator(9).randnLike(MemoryFormat.CHANNELS_LAST, 1, 4, 1, 1).data();
        assertBitExact(a, 0.044727538f, 1.911239f, -0.2310309f, 0.34592816f);
        float[] b = new TorchGenerator(9).randnLike(MemoryFormat.CHANNELS_LAST, 2, 1, 3, 3).data();
        assertBitExact(pick(b, 0, 1, 2, 9, 17), -1.0673947f, -0.71724534f, 0.9534188f, 0.16024822f, -0.35321236f);
        assertThat(crc32(b)).isEqualTo(0xe8eef919L);
        assertThat(bits(b)).containsExactly(bits(new TorchGenerator(9).randn(2, 1, 3, 3).data()));
    }

    @Test
    void cachedSampleCarriesOverVectorisedDrawsToTheNextScalarOne() {
        // torch.manual_seed(3); a = randn_like(channels-last (1,3,3,3)) (27 scalar values: one
        // sine sample left over); b = torch.randn(16) (vectorised, leaves the cache alone);
        // c = torch.randn(3) (scalar: its first value is the cached one); then
        // d = randn_like(channels-last (1,4,2,3)); e = torch.randn(1,4,2,3).
        TorchGenerator g = new TorchGenerator(3);
        float[] a = g.randnLike(MemoryFormat.CHANNELS_LAST, 1, 3, 3, 3).data();
        float[] b = g.randn(16).data();
        float[] c = g.randn(3).data();
        float[] d = g.randnLike(MemoryFormat.CHANNELS_LAST, 1, 4, 2, 3).data();
        float[] e = g.randn(1, 4, 2, 3).data();
        assertBitExact(pick(a, 0, 1, 26), 0.80327606f, -0.61371803f, -1.1837332f);
        assertThat(crc32(a)).isEqualTo(0xcce8c812L);
        assertBitExact(pick(b, 0, 15), 0.6197021f, -0.4243016f);
        assertThat(crc32(b)).isEqualTo(0x496c0e70L);
        assertBitExact(c, 0.5343607f, 0.43616098f, 1.0170135f);
        assertBitExact(pick(d, 0, 1, 23), -2.1925268f, -1.0547109f, 0.6764461f);
        assertThat(crc32(d)).isEqualTo(0x50bf8634L);
        assertBitExact(pick(e, 0, 1, 23), 0.00044318414f, -0.5773503f, -0.38629326f);
        assertThat(crc32(e)).isEqualTo(0xa197554dL);

        // c[0] is the 28th scalar sample of seed 3: the last of a 28-value scalar draw, whose
        // last memory position (pixel 13, channel 1) is NCHW index 27.
        float[] fresh = new TorchGenerator(3).randnLike(MemoryFormat.CHANNELS_LAST, 1, 2, 14, 1).data();
        assertThat(Float.floatToIntBits(fresh[27])).isEqualTo(Float.floatToIntBits(c[0]));
    }

    @Test
    void manualSeedClearsTheCachedSample() {
        TorchGenerator g = new TorchGenerator(3);
        float[] first = g.randnLike(MemoryFormat.CHANNELS_LAST, 1, 3, 3, 3).data();
        g.manualSeed(3);
        assertThat(bits(g.randnLike(MemoryFormat.CHANNELS_LAST, 1, 3, 3, 3).data())).containsExactly(bits(first));
    }

    @Test
    void channelsLastNeedsFourDimensions() {
        assertThatThrownBy(() -> new TorchGenerator(1).randnLike(MemoryFormat.CHANNELS_LAST, 4, 8, 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rank 3");
    }

    private static float[] pick(float[] values, int... at) {
        float[] out = new float[at.length];
        for (int i = 0; i < at.length; i++) out[i] = values[at[i]];
        return out;
    }
}
