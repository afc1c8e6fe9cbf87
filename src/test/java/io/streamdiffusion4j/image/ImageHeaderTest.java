package io.streamdiffusion4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.ImageHeader.Format;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Sizes read from headers alone, for every supported format, and clear refusals before anything is decoded. */
class ImageHeaderTest {
    private static final ImageSizeLimit LIMIT = new ImageSizeLimit(4096);

    @Test
    void readsTheSizeOfEverySupportedFormat() throws Exception {
        RgbImage image = TestImages.gradient(123, 45, 2);
        assertThat(ImageHeader.read(TestImages.encode(image, "jpeg"), LIMIT)).isEqualTo(new ImageHeader(Format.JPEG, 123, 45));
        assertThat(ImageHeader.read(TestImages.encode(image, "png"), LIMIT)).isEqualTo(new ImageHeader(Format.PNG, 123, 45));
        assertThat(ImageHeader.read(TestImages.encode(image, "gif"), LIMIT)).isEqualTo(new ImageHeader(Format.GIF, 123, 45));
        assertThat(ImageHeader.read(TestImages.encode(image, "bmp"), LIMIT)).isEqualTo(new ImageHeader(Format.BMP, 123, 45));
    }

    @Test
    void readsTheSizeOfAProgressiveJpeg() throws Exception {
        byte[] progressive = TestImages.jpeg(77, 31);
        progressive[TestImages.marker(progressive, 0xC0) + 1] = (byte) 0xC2;
        assertThat(ImageHeader.read(progressive, LIMIT)).isEqualTo(new ImageHeader(Format.JPEG, 77, 31));
    }

    @Test
    void refusesFormatsWhoseHeaderIsNotChecked() {
        assertThatThrownBy(() -> ImageHeader.read(new byte[0], LIMIT)).isInstanceOf(BadImageException.class)
                .hasMessageContaining("not a PNG, JPEG, GIF or BMP image (no bytes)");
        byte[] tiff = TestImages.encode(TestImages.gradient(8, 8, 0), "tiff");
        assertThatThrownBy(() -> ImageHeader.read(tiff, LIMIT)).hasMessageContaining("not a PNG, JPEG, GIF or BMP")
                .hasMessageContaining("starting with 4D 4D 00 2A");
    }

    @Test
    void refusesDamagedJpegHeaders() {
        assertThatThrownBy(() -> ImageHeader.read(new byte[] {(byte) 0xFF, (byte) 0xD8, 0x12, 0x34, 0, 0}, LIMIT))
                .hasMessageContaining("no marker at byte 2");
        assertThatThrownBy(() -> ImageHeader.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xD9}, LIMIT))
                .hasMessageContaining("no frame header");
        byte[] jpeg = TestImages.jpeg(64, 64);
        int sof = TestImages.marker(jpeg, 0xC0);
        assertThatThrownBy(() -> ImageHeader.read(Arrays.copyOf(jpeg, sof + 4), LIMIT)).hasMessageContaining("truncated JPEG");
        assertThatThrownBy(() -> ImageHeader.read(TestImages.withJpegSize(jpeg, 64, 0), LIMIT))
                .hasMessageContaining("declares 64x0 pixels; both must be positive");
    }

    @Test
    void refusesAJpegCutBeforeItsScan() {
        // the first bytes of a valid JPEG: frame header present, no start of scan (once crashed TurboJPEG)
        byte[] jpeg = TestImages.jpeg(64, 64);
        int sos = TestImages.marker(jpeg, 0xDA);
        assertThatThrownBy(() -> ImageHeader.read(Arrays.copyOf(jpeg, sos), LIMIT))
                .hasMessageContaining("truncated JPEG: no start of scan");
        assertThatThrownBy(() -> ImageHeader.read(Arrays.copyOf(jpeg, sos + 6), LIMIT)).hasMessageContaining("truncated JPEG");
    }

    @Test
    void refusesASizeBeyondTheLimitFromTheHeaderAlone() throws Exception {
        byte[] bomb = TestImages.withJpegSize(TestImages.jpeg(8, 8), 60000, 60000);
        assertThatThrownBy(() -> ImageHeader.read(bomb, LIMIT)).isInstanceOfSatisfying(ImageTooLargeException.class, e -> {
            assertThat(e.width()).isEqualTo(60000);
            assertThat(e.maxSide()).isEqualTo(4096);
        }).hasMessageContaining("the JPEG header declares 60000x60000 pixels, more than the limit of 4096 pixels wide and high")
                .hasMessageContaining("--max-frame-size");
        byte[] png = TestImages.withPngSize(TestImages.encode(TestImages.gradient(8, 8, 0), "png"), 20000, 20000);
        assertThatThrownBy(() -> ImageHeader.read(png, LIMIT)).isInstanceOf(ImageTooLargeException.class)
                .hasMessageContaining("the PNG header declares 20000x20000 pixels");
        byte[] wide = TestImages.encode(TestImages.gradient(4097, 1, 0), "png");
        assertThatThrownBy(() -> ImageHeader.read(wide, LIMIT)).isInstanceOf(ImageTooLargeException.class);
        assertThat(ImageHeader.read(wide, new ImageSizeLimit(4097)).width()).isEqualTo(4097);
        // whatever the limit, one RGB array must hold the image
        byte[] huge = TestImages.withPngSize(TestImages.encode(TestImages.gradient(8, 8, 0), "png"), 30000, 30000);
        assertThatThrownBy(() -> ImageHeader.read(huge, new ImageSizeLimit(Integer.MAX_VALUE)))
                .isInstanceOf(ImageTooLargeException.class).hasMessageContaining("more than one RGB image in memory can hold");
    }

    @Test
    void refusesDataTooShortForTheDeclaredSize() {
        // within the limit, but 100 bytes cannot hold 4000x4000 pixels in any of these encodings
        byte[] png = TestImages.withPngSize(TestImages.encode(TestImages.gradient(8, 8, 0), "png"), 4000, 4000);
        assertThatThrownBy(() -> ImageHeader.read(png, LIMIT)).isNotInstanceOf(ImageTooLargeException.class)
                .hasMessageContaining("truncated PNG: its header declares 4000x4000 pixels, which take at least");
        byte[] jpeg = TestImages.withJpegSize(TestImages.jpeg(8, 8), 4000, 4000);
        assertThatThrownBy(() -> ImageHeader.read(jpeg, LIMIT)).hasMessageContaining("truncated JPEG: its header declares 4000x4000");
        byte[] bmp = TestImages.encode(TestImages.gradient(64, 64, 0), "bmp");
        assertThatThrownBy(() -> ImageHeader.read(Arrays.copyOf(bmp, bmp.length - 1), LIMIT)).hasMessageContaining("truncated BMP");
    }

    @Test
    void refusesADamagedPngHeader() {
        byte[] png = TestImages.encode(TestImages.gradient(8, 8, 0), "png");
        byte[] badCrc = png.clone();
        badCrc[19] ^= 1; // width changed, CRC not
        assertThatThrownBy(() -> ImageHeader.read(badCrc, LIMIT)).hasMessageContaining("IHDR chunk fails its CRC check");
        assertThatThrownBy(() -> ImageHeader.read(Arrays.copyOf(png, 20), LIMIT)).hasMessageContaining("truncated PNG");
        byte[] negative = TestImages.withPngSize(png, 0x80000000, 8);
        assertThatThrownBy(() -> ImageHeader.read(negative, LIMIT)).hasMessageContaining("both must be positive");
    }

    @Test
    void limitsBelowTheMinimumAreRefused() {
        assertThatThrownBy(() -> new ImageSizeLimit(7)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 8 pixels, found 7");
    }
}
