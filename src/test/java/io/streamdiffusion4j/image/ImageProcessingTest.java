package io.streamdiffusion4j.image;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageProcessingTest {

    @Test
    void preprocessingMatchesTheReferenceBitForBit() throws Exception {
        RgbImage frame = ImageFiles.read(Fixtures.frames().resolve("003.png"));
        FloatTensor actual = new ImagePreprocessor(64, 64).toTensor(frame);
        FloatTensor expected = Npy.readFloats(Fixtures.tensor("f003_input_image"));
        assertThat(actual.shape()).containsExactly(1, 3, 64, 64);
        assertThat(actual.data()).containsExactly(expected.data());
    }

    @Test
    void framesOfAnotherSizeAreResizedWithLanczos() throws Exception {
        RgbImage frame = ImageFiles.read(Fixtures.frames().resolve("000.png"));
        FloatTensor t = new ImagePreprocessor(48, 32).toTensor(frame);
        assertThat(t.shape()).containsExactly(1, 3, 32, 48);
        RgbImage resized = PillowResize.resize(frame, 48, 32, PillowResize.Filter.LANCZOS);
        assertThat(t.data()[0]).isEqualTo(2f * ((resized.rgb()[0] & 0xff) / 255f) - 1f);
    }

    @Test
    void postprocessingClampsAndRoundsHalfToEven() {
        // values whose float32 product with 255 is exactly k + 0.5
        float[] halves = new float[6];
        int[] expectedBytes = new int[6];
        int found = 0;
        for (int k = 0; k < 254 && found < 6; k++) {
            float v = (k + 0.5f) / 255f;
            for (int ulp = -4; ulp <= 4; ulp++) {
                float c = v + ulp * Math.ulp(v);
                if (c * 255f == k + 0.5f) {
                    halves[found] = c;
                    expectedBytes[found] = (k % 2 == 0) ? k : k + 1; // to the even neighbour
                    found++;
                    break;
                }
            }
        }
        assertThat(found).isEqualTo(6);
        RgbImage img = ImagePostprocessor.toRgb(halves, 2, 1);
        for (int i = 0; i < 6; i++) assertThat(img.rgb()[i] & 0xff).as("round(%s)", halves[i] * 255f).isEqualTo(expectedBytes[i]);

        FloatTensor decoded = new FloatTensor(new float[] {-3f, 3f, 0f}, 1, 3, 1, 1);
        assertThat(ImagePostprocessor.toUnitHwc(decoded, 0)).containsExactly(0f, 1f, 0.5f);
    }

    @Test
    void pngRoundTrip(@TempDir Path dir) throws Exception {
        byte[] rgb = new byte[4 * 3 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 7);
        RgbImage img = new RgbImage(4, 3, rgb);
        ImageFiles.writePng(img, dir.resolve("a.png"));
        assertThat(ImageFiles.read(dir.resolve("a.png")).rgb()).containsExactly(rgb);
    }
}
