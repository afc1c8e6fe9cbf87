package io.streamdiffusion4j.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.convert.CalibrationImages;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.RgbImage;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntBinaryOperator;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * The canny edge map on images whose edges are known: a step's gradient is 4 x its contrast in
 * L1 magnitude (the 3x3 Sobel's weights 1, 2, 1 over one side), so contrasts of 100 and 40 give
 * 400 (above the default high threshold 200) and 160 (between low 100 and high).
 */
class CannyEdgesTest {
    private static final int W = 32, H = 24;

    @Test
    void aVerticalStepGivesOneThinLineTheFullHeight() {
        RgbImage edges = CannyEdges.DEFAULT.apply(gray((x, y) -> x < W / 2 ? 0 : 100));
        for (int y = 0; y < H; y++) {
            int count = 0;
            for (int x = 0; x < W; x++) {
                if (edge(edges, x, y)) {
                    count++;
                    assertThat(x).as("row %d", y).isBetween(W / 2 - 1, W / 2);
                }
            }
            assertThat(count).as("row %d: one pixel wide", y).isEqualTo(1);
        }
    }

    @Test
    void aFlatImageHasNoEdgesAndTheMapIsBlackOrWhiteInAllChannels() {
        assertThat(count(CannyEdges.DEFAULT.apply(gray((x, y) -> 77)))).isZero();
        RgbImage edges = CannyEdges.DEFAULT.apply(gray((x, y) -> x < W / 2 ? 0 : 100));
        for (int i = 0; i < edges.rgb().length; i += 3) {
            int v = edges.rgb()[i] & 0xff;
            assertThat(v).isIn(0, 255);
            assertThat(edges.rgb()[i + 1] & 0xff).isEqualTo(v);
            assertThat(edges.rgb()[i + 2] & 0xff).isEqualTo(v);
        }
    }

    @Test
    void weakEdgesCountOnlyWhereTheyTouchAStrongOne() {
        // top half a strong step (400), bottom half a weak one (160): one connected line
        RgbImage joined = CannyEdges.DEFAULT.apply(gray((x, y) -> x < W / 2 ? 0 : y < H / 2 ? 100 : 40));
        for (int y = 0; y < H; y++) assertThat(rowHasEdge(joined, y)).as("row %d", y).isTrue();
        // the weak step alone: no edge anywhere
        assertThat(count(CannyEdges.DEFAULT.apply(gray((x, y) -> x < W / 2 ? 0 : 40)))).isZero();
        // lower thresholds make the weak step an edge by itself
        RgbImage low = new CannyEdges(50, 150).apply(gray((x, y) -> x < W / 2 ? 0 : 40));
        for (int y = 0; y < H; y++) assertThat(rowHasEdge(low, y)).as("row %d", y).isTrue();
    }

    @Test
    void anEdgeInOneChannelIsFoundAndADiagonalStaysThin() {
        byte[] rgb = new byte[3 * W * H];
        for (int y = 0; y < H; y++) {
            for (int x = W / 2; x < W; x++) rgb[(y * W + x) * 3 + 2] = (byte) 120; // blue only
        }
        assertThat(count(CannyEdges.DEFAULT.apply(new RgbImage(W, H, rgb)))).isEqualTo(H);
        RgbImage diagonal = CannyEdges.DEFAULT.apply(gray((x, y) -> x > y + 4 ? 200 : 0));
        for (int y = 2; y < H - 2; y++) {
            int n = 0;
            for (int x = 0; x < W; x++) {
                if (edge(diagonal, x, y)) {
                    n++;
                    assertThat(Math.abs(x - (y + 4))).as("row %d", y).isLessThanOrEqualTo(2);
                }
            }
            assertThat(n).as("row %d", y).isBetween(1, 2);
        }
    }

    /**
     * Pixel for pixel what OpenCV's {@code cv2.Canny(rgb, 100, 200)} gives (OpenCV 4.6, Debian's
     * python3-opencv; harness outside the repository: the same 8-bit RGB bytes in, the CRC-32 of
     * the edge map and its edge count out) on the example frames and on four
     * {@link CalibrationImages} pictures (gradients, hard shapes, stripes, noise: 407-573 edges each).
     */
    @Test
    void edgeMapsAreOpenCvsBitForBit() throws Exception {
        String[] frames = {"498bdd2", "de873030", "84704361", "e977c9e9", "428d8dda", "7d163ca6", "ab7fb1ee", "9a1c51cc"};
        for (int k = 0; k < frames.length; k++) {
            RgbImage frame = ImageFiles.read(Path.of("examples/frames/00" + k + ".png"));
            assertThat(crc(CannyEdges.DEFAULT.apply(frame))).as("frame %d", k).isEqualTo(frames[k]);
        }
        String[] pictures = {"5a51abc7", "ad566c20", "55ecf2f7", "c65253a8"};
        int[] edgeCounts = {411, 573, 433, 407};
        List<float[]> images = CalibrationImages.generate(4, 96, 64, 7);
        for (int k = 0; k < pictures.length; k++) {
            RgbImage edges = CannyEdges.DEFAULT.apply(toRgb(images.get(k), 96, 64));
            assertThat(crc(edges)).as("picture %d", k).isEqualTo(pictures[k]);
            assertThat(count(edges)).isEqualTo(edgeCounts[k]);
        }
    }

    private static String crc(RgbImage edges) {
        CRC32 c = new CRC32();
        for (int i = 0; i < edges.width() * edges.height(); i++) c.update(edges.rgb()[3 * i]);
        return Long.toHexString(c.getValue());
    }

    @Test
    void thresholdsAreChecked() {
        assertThatThrownBy(() -> new CannyEdges(200, 100)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("low 200, high 100");
        assertThatThrownBy(() -> new CannyEdges(-1, 100)).isInstanceOf(IllegalArgumentException.class);
    }

    /** A CalibrationImages picture ([-1, 1], NCHW) as 8-bit RGB: round((v + 1) * 127.5). */
    static RgbImage toRgb(float[] nchw, int w, int h) {
        byte[] rgb = new byte[3 * w * h];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < w * h; i++) rgb[3 * i + c] = (byte) Math.round((nchw[c * w * h + i] + 1) * 127.5f);
        }
        return new RgbImage(w, h, rgb);
    }

    private static RgbImage gray(IntBinaryOperator value) {
        byte[] rgb = new byte[3 * W * H];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                byte v = (byte) value.applyAsInt(x, y);
                rgb[(y * W + x) * 3] = rgb[(y * W + x) * 3 + 1] = rgb[(y * W + x) * 3 + 2] = v;
            }
        }
        return new RgbImage(W, H, rgb);
    }

    private static boolean edge(RgbImage e, int x, int y) {
        return e.get(x, y, 0) == 255;
    }

    private static boolean rowHasEdge(RgbImage e, int y) {
        for (int x = 0; x < e.width(); x++) if (edge(e, x, y)) return true;
        return false;
    }

    private static int count(RgbImage e) {
        int n = 0;
        for (int y = 0; y < e.height(); y++) for (int x = 0; x < e.width(); x++) if (edge(e, x, y)) n++;
        return n;
    }
}
