package io.streamdiffusion4j.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/** Small images made in the test, in every supported format, and the byte surgery that damages them. */
public final class TestImages {
    private TestImages() {}

    /** A smooth gradient with some texture (compresses like a photo, not like a flat colour). */
    public static RgbImage gradient(int width, int height, int seed) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int o = (y * width + x) * 3;
                int noise = ((x * 7919 + y * 104729 + seed * 31) >>> 3) & 15;
                rgb[o] = (byte) (x * 255 / Math.max(1, width - 1));
                rgb[o + 1] = (byte) (y * 255 / Math.max(1, height - 1));
                rgb[o + 2] = (byte) ((seed * 40 + noise * 8) & 0xff);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /** The image encoded by ImageIO as "png", "gif", "bmp" or "jpeg". */
    public static byte[] encode(RgbImage image, String format) {
        BufferedImage img = ImageFiles.toBufferedImage(image);
        if (format.equals("gif")) {
            BufferedImage indexed = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_BYTE_INDEXED);
            indexed.getGraphics().drawImage(img, 0, 0, null);
            img = indexed;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) throw new IllegalStateException("no ImageIO writer for " + format);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static byte[] jpeg(int width, int height) {
        return encode(gradient(width, height, 1), "jpeg");
    }

    /** The offset of the first FF xx marker with that second byte, after the start of image. */
    public static int marker(byte[] jpeg, int code) {
        for (int i = 2; i + 1 < jpeg.length; i++) {
            if ((jpeg[i] & 0xff) == 0xFF && (jpeg[i + 1] & 0xff) == code) return i;
        }
        throw new AssertionError("no marker FF " + Integer.toHexString(code));
    }

    /**
     * Damaged copies of a valid JPEG, each of a kind that broke or crashed a decoder, by name.
     *
     * @param withoutScan also the copies with no start of scan, which crashed a shared TurboJPEG handle
     *     (SIGSEGV on the next frame): only for a test that runs them in a child JVM
     */
    public static Map<String, byte[]> damagedJpegs(byte[] valid, boolean withoutScan) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        int sof = marker(valid, 0xC0);
        int dht = marker(valid, 0xC4);
        int sos = marker(valid, 0xDA);
        if (withoutScan) {
            out.put("cut before its start of scan", Arrays.copyOf(valid, sos));
            out.put("cut inside its frame header", Arrays.copyOf(valid, sof + 6));
        }
        byte[] flipped = valid.clone();
        flipped[dht + 5] ^= (byte) 0x80; // a code count: "Bogus Huffman table definition"
        out.put("a bit flipped in its Huffman table", flipped);
        out.put("cut in the middle of its scan", Arrays.copyOf(valid, (sos + valid.length) / 2));
        byte[] tablesOnly = Arrays.copyOf(valid, sof + 2); // start of image and the tables before the frame, then
        tablesOnly[sof] = (byte) 0xFF;                     // end of image: TurboJPEG reads 0x0 from it
        tablesOnly[sof + 1] = (byte) 0xD9;
        out.put("tables only, no frame", tablesOnly);
        return out;
    }

    /** A copy of a JPEG whose first frame header declares another size. */
    public static byte[] withJpegSize(byte[] jpeg, int width, int height) {
        byte[] out = jpeg.clone();
        int sof = marker(out, 0xC0);
        out[sof + 5] = (byte) (height >> 8);
        out[sof + 6] = (byte) height;
        out[sof + 7] = (byte) (width >> 8);
        out[sof + 8] = (byte) width;
        return out;
    }

    /** A copy of a PNG whose IHDR declares another size, with a correct CRC (a well-formed lie). */
    public static byte[] withPngSize(byte[] png, int width, int height) {
        byte[] out = png.clone();
        putInt(out, 16, width);
        putInt(out, 20, height);
        CRC32 crc = new CRC32();
        crc.update(out, 12, 17);
        putInt(out, 29, (int) crc.getValue());
        return out;
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
