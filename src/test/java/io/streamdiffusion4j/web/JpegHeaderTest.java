package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** Frame sizes read from the JPEG header alone, for any encoder, and clear refusals. */
class JpegHeaderTest {

    @Test
    void readsTheSizeOfBaselineAndProgressiveJpegs() throws Exception {
        assertThat(JpegHeader.read(TestServer.jpeg(123, 45, 1, 2, 3))).isEqualTo(new JpegHeader(123, 45));
        // ImageIO writes JFIF (APP0) first; a progressive file has SOF2
        BufferedImage img = new BufferedImage(77, 31, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        assertThat(JpegHeader.read(out.toByteArray())).isEqualTo(new JpegHeader(77, 31));
        byte[] progressive = out.toByteArray().clone();
        for (int i = 2; i + 1 < progressive.length; i++) {
            if ((progressive[i] & 0xff) == 0xFF && (progressive[i + 1] & 0xff) == 0xC0) {
                progressive[i + 1] = (byte) 0xC2;
                break;
            }
        }
        assertThat(JpegHeader.read(progressive)).isEqualTo(new JpegHeader(77, 31));
    }

    @Test
    void refusesWhatIsNotAJpeg() {
        assertThatThrownBy(() -> JpegHeader.read(new byte[0])).hasMessageContaining("must be JPEG");
        assertThatThrownBy(() -> JpegHeader.read("GIF89a....".getBytes())).hasMessageContaining("must be JPEG");
        assertThatThrownBy(() -> JpegHeader.read(new byte[] {(byte) 0xFF, (byte) 0xD8, 0x12, 0x34, 0, 0}))
                .hasMessageContaining("no marker");
        assertThatThrownBy(() -> JpegHeader.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xD9}))
                .hasMessageContaining("no frame header");
    }

    @Test
    void refusesATruncatedHeader() throws Exception {
        byte[] full = TestServer.jpeg(64, 64, 0, 0, 0);
        int sof = 0;
        for (int i = 2; i + 1 < full.length; i++) {
            if ((full[i] & 0xff) == 0xFF && (full[i + 1] & 0xff) == 0xC0) {
                sof = i;
                break;
            }
        }
        byte[] cut = Arrays.copyOf(full, sof + 4);
        assertThatThrownBy(() -> JpegHeader.read(cut)).hasMessageContaining("truncated");
    }
}
