package io.streamdiffusion4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.PillowResize.Filter;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class PillowResizeTest {

    /** Deterministic 7x5 test pattern: channel c of pixel (x, y) is (x*37 + y*91 + c*53) mod 256. */
    private static RgbImage pattern() {
        int w = 7;
        int h = 5;
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    rgb[(y * w + x) * 3 + c] = (byte) ((x * 37 + y * 91 + c * 53) % 256);
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static RgbImage solid(int w, int h, int[] colour) {
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) colour[i % 3];
        }
        return new RgbImage(w, h, rgb);
    }

    private static int[] unsigned(byte[] bytes) {
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = bytes[i] & 0xff;
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(Filter.class)
    void sameSizeReturnsIdenticalPixelsInANewArray(Filter filter) {
        RgbImage src = pattern();
        RgbImage out = PillowResize.resize(src, src.width(), src.height(), filter);

        assertThat(out.width()).isEqualTo(src.width());
        assertThat(out.height()).isEqualTo(src.height());
        assertThat(out.rgb()).isEqualTo(src.rgb()).isNotSameAs(src.rgb());
    }

    @ParameterizedTest
    @EnumSource(Filter.class)
    void constantColourStaysConstant(Filter filter) {
        // Includes extreme ratios (64 -> 1, 3 -> 200) and one-axis-only changes.
        int[][] sizes = {{1, 1}, {1, 9}, {9, 1}, {3, 200}, {64, 1}, {5, 7}, {13, 13}, {40, 3}};
        int[][] colours = {{0, 0, 0}, {255, 255, 255}, {12, 200, 77}, {255, 0, 128}};
        for (int[] colour : colours) {
            for (int[] in : sizes) {
                RgbImage src = solid(in[0], in[1], colour);
                for (int[] outSize : sizes) {
                    RgbImage out = PillowResize.resize(src, outSize[0], outSize[1], filter);
                    assertThat(out.width()).isEqualTo(outSize[0]);
                    assertThat(out.height()).isEqualTo(outSize[1]);
                    assertThat(out.rgb())
                            .as("%s %dx%d -> %dx%d", filter, in[0], in[1], outSize[0], outSize[1])
                            .isEqualTo(solid(outSize[0], outSize[1], colour).rgb());
                }
            }
        }
    }

    static Stream<Arguments> pillowGoldens() {
        return Stream.of(
                Arguments.of(Filter.LANCZOS, 3, 4, LANCZOS_3X4),
                Arguments.of(Filter.BICUBIC, 3, 4, BICUBIC_3X4),
                Arguments.of(Filter.LANCZOS, 11, 9, LANCZOS_11X9),
                Arguments.of(Filter.BICUBIC, 11, 9, BICUBIC_11X9),
                Arguments.of(Filter.NEAREST, 3, 4, NEAREST_3X4),
                Arguments.of(Filter.BOX, 3, 4, BOX_3X4),
                Arguments.of(Filter.BILINEAR, 3, 4, BILINEAR_3X4),
                Arguments.of(Filter.HAMMING, 3, 4, HAMMING_3X4),
                // Only the height changes: Pillow runs the vertical pass alone.
                Arguments.of(Filter.BICUBIC, 7, 3, BICUBIC_7X3),
                // Only the width changes: Pillow runs the horizontal pass alone.
                Arguments.of(Filter.LANCZOS, 4, 5, LANCZOS_4X5));
    }

    @ParameterizedTest(name = "{0} 7x5 -> {1}x{2}")
    @MethodSource("pillowGoldens")
    void matchesPillow(Filter filter, int width, int height, int[] expected) {
        RgbImage out = PillowResize.resize(pattern(), width, height, filter);

        assertThat(out.width()).isEqualTo(width);
        assertThat(out.height()).isEqualTo(height);
        assertThat(unsigned(out.rgb())).containsExactly(expected);
    }

    @Test
    void doesNotModifyTheSource() {
        RgbImage src = pattern();
        byte[] before = src.rgb().clone();
        for (Filter filter : Filter.values()) {
            PillowResize.resize(src, 11, 2, filter);
        }
        assertThat(src.rgb()).isEqualTo(before);
    }

    @Test
    void rejectsNonPositiveSizes() {
        assertThatThrownBy(() -> PillowResize.resize(pattern(), 0, 4, Filter.BICUBIC))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PillowResize.resize(pattern(), 4, -1, Filter.NEAREST))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // Expected pixels (interleaved RGB, row-major, one or two source lines per image row) were
    // computed by Pillow 9.4.0 Image.resize:
    //   Image.fromarray(pattern, "RGB").resize((width, height), resample=Image.Resampling.<FILTER>)
    // They are reference data for bit-exactness, not output of this implementation.

    private static final int[] LANCZOS_3X4 = {
            34, 101, 153, 145, 191, 178, 173, 125, 87,
            153, 163, 124, 135, 126, 75, 75, 108, 196,
            86, 79, 108, 74, 145, 169, 196, 189, 120,
            117, 181, 202, 153, 124, 85, 74, 97, 117,
    };

    private static final int[] BICUBIC_3X4 = {
            42, 103, 148, 136, 179, 179, 170, 130, 95,
            146, 154, 128, 135, 137, 84, 84, 111, 182,
            89, 92, 112, 85, 145, 161, 185, 178, 122,
            119, 178, 193, 146, 114, 90, 76, 105, 124,
    };

    private static final int[] LANCZOS_11X9 = {
            0, 43, 87, 5, 54, 98, 33, 77, 133, 51, 103, 186, 71, 120, 216, 94, 147, 240,
            114, 189, 255, 148, 255, 220, 201, 255, 42, 236, 113, 26, 247, 0, 75,
            16, 64, 138, 26, 90, 164, 59, 133, 179, 99, 156, 142, 124, 184, 131, 149, 202, 167,
            182, 161, 200, 174, 164, 166, 137, 195, 59, 152, 100, 59, 177, 22, 96,
            71, 122, 189, 84, 146, 234, 116, 188, 224, 154, 206, 76, 177, 253, 15, 204, 255, 65,
            255, 118, 92, 193, 34, 99, 46, 80, 106, 36, 98, 131, 80, 93, 149,
            157, 227, 121, 190, 173, 159, 196, 108, 158, 121, 126, 53, 101, 181, 8, 134, 182, 55,
            177, 88, 101, 133, 22, 144, 31, 65, 194, 31, 147, 227, 68, 193, 237,
            172, 255, 29, 218, 145, 44, 206, 3, 73, 50, 25, 98, 0, 74, 119, 37, 90, 143,
            65, 114, 167, 82, 135, 188, 107, 160, 213, 136, 189, 242, 151, 204, 255,
            78, 147, 48, 110, 94, 55, 116, 27, 95, 43, 49, 165, 21, 98, 231, 55, 145, 231,
            102, 189, 135, 146, 240, 79, 194, 252, 112, 226, 165, 148, 238, 88, 159,
            13, 64, 137, 25, 87, 156, 58, 130, 180, 95, 158, 175, 125, 166, 214, 146, 172, 221,
            152, 183, 83, 162, 232, 0, 184, 241, 42, 214, 120, 80, 229, 12, 90,
            68, 118, 190, 80, 140, 228, 113, 191, 226, 147, 232, 114, 196, 169, 80, 203, 69, 119,
            103, 72, 88, 55, 124, 68, 80, 137, 100, 116, 112, 132, 127, 83, 146,
            121, 175, 211, 137, 180, 255, 165, 215, 244, 175, 255, 67, 227, 160, 0, 227, 0, 46,
            61, 0, 101, 0, 44, 134, 5, 63, 156, 45, 116, 184, 54, 151, 200,
    };

    private static final int[] BICUBIC_11X9 = {
            0, 43, 96, 6, 59, 110, 33, 86, 140, 57, 110, 179, 80, 132, 208, 104, 157, 230,
            126, 195, 255, 155, 233, 215, 194, 255, 40, 224, 113, 36, 238, 0, 68,
            21, 71, 134, 34, 92, 154, 62, 124, 172, 93, 148, 139, 118, 174, 139, 142, 195, 168,
            171, 166, 202, 171, 162, 173, 138, 193, 64, 156, 105, 71, 176, 31, 97,
            77, 129, 194, 92, 151, 224, 121, 185, 224, 153, 208, 70, 179, 242, 19, 202, 255, 61,
            244, 114, 86, 193, 38, 103, 39, 79, 113, 39, 94, 138, 69, 101, 155,
            142, 204, 124, 165, 160, 149, 179, 110, 158, 113, 135, 65, 102, 168, 39, 132, 185, 75,
            168, 100, 107, 142, 57, 141, 49, 91, 177, 58, 138, 205, 83, 170, 220,
            179, 250, 29, 209, 142, 45, 208, 10, 72, 48, 36, 96, 0, 66, 119, 37, 90, 143,
            61, 114, 167, 84, 137, 190, 108, 161, 214, 135, 188, 241, 151, 204, 255,
            84, 146, 66, 107, 101, 80, 120, 51, 110, 55, 75, 157, 42, 108, 196, 74, 144, 211,
            108, 178, 126, 142, 211, 83, 175, 231, 118, 204, 160, 146, 219, 97, 161,
            14, 66, 131, 29, 88, 148, 57, 122, 173, 90, 147, 183, 116, 161, 210, 139, 172, 225,
            150, 195, 84, 165, 226, 7, 190, 246, 48, 217, 125, 76, 233, 21, 92,
            74, 127, 189, 90, 147, 215, 118, 180, 222, 148, 216, 113, 181, 164, 84, 197, 65, 118,
            97, 81, 89, 51, 114, 80, 82, 137, 109, 110, 116, 136, 126, 94, 152,
            112, 165, 218, 128, 181, 250, 155, 209, 246, 179, 252, 71, 214, 163, 11, 226, 3, 56,
            65, 15, 93, 0, 49, 125, 19, 73, 147, 48, 113, 174, 64, 139, 190,
    };

    private static final int[] NEAREST_3X4 = {
            37, 90, 143, 111, 164, 217, 185, 238, 35,
            128, 181, 234, 202, 255, 52, 20, 73, 126,
            54, 107, 160, 128, 181, 234, 202, 255, 52,
            145, 198, 251, 219, 16, 69, 37, 90, 143,
    };

    private static final int[] BOX_3X4 = {
            19, 72, 125, 111, 164, 217, 204, 129, 54,
            156, 145, 134, 120, 130, 98, 85, 138, 191,
            36, 89, 142, 128, 181, 149, 221, 146, 71,
            127, 180, 233, 134, 101, 69, 56, 109, 162,
    };

    private static final int[] BILINEAR_3X4 = {
            55, 108, 147, 130, 168, 168, 163, 134, 104,
            138, 145, 128, 131, 142, 99, 95, 116, 169,
            95, 102, 117, 96, 143, 152, 169, 169, 126,
            117, 170, 182, 140, 114, 103, 83, 114, 125,
    };

    private static final int[] HAMMING_3X4 = {
            37, 90, 139, 119, 167, 199, 182, 143, 82,
            138, 150, 148, 146, 158, 84, 81, 112, 165,
            89, 100, 121, 99, 151, 162, 181, 168, 116,
            127, 180, 204, 153, 89, 81, 61, 105, 143,
    };

    private static final int[] BICUBIC_7X3 = {
            40, 93, 146, 77, 130, 183, 114, 167, 106, 151, 204, 143, 188, 127, 188, 111, 164, 75,
            148, 59, 112,
            128, 181, 86, 165, 70, 123, 54, 107, 106, 91, 153, 143, 137, 127, 117, 111, 164, 163,
            148, 147, 200,
            68, 121, 174, 105, 158, 211, 142, 195, 106, 179, 82, 143, 66, 127, 66, 111, 164, 103,
            148, 87, 140,
    };

    private static final int[] LANCZOS_4X5 = {
            14, 67, 118, 77, 126, 194, 145, 216, 209, 208, 119, 51,
            103, 154, 218, 179, 239, 60, 194, 103, 75, 36, 79, 151,
            203, 135, 46, 45, 38, 109, 60, 128, 177, 136, 187, 240,
            31, 84, 133, 94, 143, 218, 162, 233, 82, 225, 136, 58,
            118, 192, 235, 203, 168, 77, 67, 32, 92, 43, 117, 168,
    };
}
