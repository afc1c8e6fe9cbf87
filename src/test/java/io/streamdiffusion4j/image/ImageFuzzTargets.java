package io.streamdiffusion4j.image;

import io.streamdiffusion4j.fuzz.ByteMutator;
import io.streamdiffusion4j.fuzz.FuzzTarget;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Fuzz targets for the image decoders. All run in a child JVM: TurboJPEG is native code, and
 * so is the JDK's JPEG reader. After every input a decoder refuses, a valid JPEG must still
 * decode to the same pixels: decoder state must not outlive an error.
 */
public final class ImageFuzzTargets {
    private static final int MAX_LENGTH = 64 * 1024;
    private static final List<String> JPEG_TOKENS = List.of("\u00ff\u00d8", "\u00ff\u00d9", "\u00ff\u00da", "\u00ff\u00c0",
            "\u00ff\u00c2", "\u00ff\u00c4", "\u00ff\u00db", "\u00ff\u00dd", "\u00ff\u00e0", "\u00ff\u00fe", "\u00ff\u0000",
            "\u00ff\u00ff", "\u00ff\u00c1", "\u00ff\u00c3", "\u00ff\u00cf", "\u00ff\u00ee", "JFIF\u0000", "Exif\u0000\u0000");
    private static final List<String> PNG_TOKENS = List.of("\u0089PNG\r\n\u001a\n", "IHDR", "IDAT", "IEND", "PLTE", "tRNS",
            "gAMA", "iCCP", "zTXt", "iTXt", "tEXt", "sBIT", "bKGD", "hIST", "pHYs", "sRGB", "cHRM", "\u0000\u0000\u0000\r");

    private ImageFuzzTargets() {}

    /** The codec the server and CLI use for JPEG: TurboJPEG where libturbojpeg loads, else ImageIO. */
    public static FuzzTarget jpeg() {
        ImageCodec codec = ImageCodec.best();
        return new FuzzTarget("jpeg", ImageFuzzTargets::jpegSeeds, new ByteMutator(MAX_LENGTH, latin1(JPEG_TOKENS)),
                stateless(codec, jpegSeeds().getFirst()), Set.of(IOException.class), true, 4000);
    }

    /** The JDK's own JPEG reader (ImageIO), which decodes JPEG where TurboJPEG is not installed. */
    public static FuzzTarget jpegImageIo() {
        ImageCodec codec = new ImageIoCodec();
        return new FuzzTarget("jpeg-imageio", ImageFuzzTargets::jpegSeeds, new ByteMutator(MAX_LENGTH, latin1(JPEG_TOKENS)),
                stateless(codec, jpegSeeds().getFirst()), Set.of(IOException.class), true, 1500);
    }

    /** PNG (and whatever else ImageIO recognises in the mutated bytes) through the best codec's fallback. */
    public static FuzzTarget png() {
        ImageCodec codec = ImageCodec.best();
        return new FuzzTarget("png", ImageFuzzTargets::pngSeeds, new ByteMutator(MAX_LENGTH, latin1(PNG_TOKENS)),
                stateless(codec, pngSeeds().getFirst()), Set.of(IOException.class), true, 1500);
    }

    /**
     * Decodes the input; when the codec refuses it, decodes {@code valid} again and compares with
     * what it gave before any input: a difference means an error left state behind.
     */
    private static FuzzTarget.Check stateless(ImageCodec codec, byte[] valid) {
        RgbImage expected;
        try {
            expected = codec.decode(valid);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return input -> {
            try {
                RgbImage img = codec.decode(input);
                if (img.width() <= 0 || img.height() <= 0 || img.rgb().length != img.width() * img.height() * 3) {
                    throw new IllegalStateException("decoded a " + img.width() + "x" + img.height() + " image");
                }
            } catch (IOException refused) {
                RgbImage again;
                try {
                    again = codec.decode(valid);
                } catch (IOException e) {
                    throw new IllegalStateException(codec.name() + " refuses a valid image after refusing this input ("
                            + refused.getMessage() + "): " + e.getMessage(), e);
                }
                if (!Arrays.equals(again.rgb(), expected.rgb())) {
                    throw new IllegalStateException(codec.name() + " decodes a valid image differently after refusing this input");
                }
                throw refused;
            }
        };
    }

    public static List<byte[]> jpegSeeds() {
        List<byte[]> out = new ArrayList<>();
        try {
            List<BufferedImage> images = sampleImages();
            for (int i = 0; i < images.size(); i++) {
                BufferedImage img = images.get(i);
                out.add(jpeg(img, i % 2 == 0 ? 0.9f : 0.3f, false));
                if (i < 2) out.add(jpeg(img, 0.75f, true)); // progressive
            }
            BufferedImage grey = new BufferedImage(24, 16, BufferedImage.TYPE_BYTE_GRAY);
            paint(grey);
            out.add(jpeg(grey, 0.8f, false));
            // issue 10 item 1: the first half of a valid JPEG (frame header present, no scan), and a 0x0 frame header
            byte[] whole = out.getFirst();
            out.add(Arrays.copyOf(whole, whole.length / 2));
            out.add(withZeroSize(whole));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static List<byte[]> pngSeeds() {
        List<byte[]> out = new ArrayList<>();
        try {
            for (BufferedImage img : sampleImages()) out.add(encode(img, "png"));
            for (int type : new int[] {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_INT_ARGB, BufferedImage.TYPE_BYTE_INDEXED,
                    BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_BYTE_BINARY}) {
                BufferedImage img = new BufferedImage(9, 7, type);
                paint(img);
                out.add(encode(img, "png"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Two frames of the shared fixtures (64x64) where present, and small generated images of odd sizes. */
    private static List<BufferedImage> sampleImages() throws IOException {
        List<BufferedImage> out = new ArrayList<>();
        String fixtures = System.getProperty("fixtures.dir");
        if (fixtures != null) {
            for (String f : List.of("000.png", "005.png")) {
                Path p = Path.of(fixtures, "frames", "frames64", f);
                if (Files.isRegularFile(p)) out.add(ImageIO.read(p.toFile()));
            }
        }
        for (int[] size : new int[][] {{8, 8}, {17, 13}, {1, 1}, {33, 2}}) {
            BufferedImage img = new BufferedImage(size[0], size[1], BufferedImage.TYPE_INT_RGB);
            paint(img);
            out.add(img);
        }
        return out;
    }

    private static void paint(BufferedImage img) {
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, (x * 37 + y * 11) << 16 | (x * y * 5) << 8 | (255 - x * 9));
        }
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) throw new IOException("no " + format + " writer for " + img);
        return out.toByteArray();
    }

    private static byte[] jpeg(BufferedImage img, float quality, boolean progressive) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(stream);
            ImageWriteParam p = writer.getDefaultWriteParam();
            if (progressive) {
                p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            } else {
                p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                p.setCompressionQuality(quality);
            }
            writer.write(null, new IIOImage(img, null, null), p);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    /** The same JPEG with 0x0 in its frame header. */
    private static byte[] withZeroSize(byte[] jpeg) {
        byte[] b = jpeg.clone();
        for (int i = 2; i + 9 < b.length; i++) {
            if ((b[i] & 0xff) == 0xFF && (b[i + 1] & 0xff) == 0xC0) {
                b[i + 5] = b[i + 6] = b[i + 7] = b[i + 8] = 0;
                break;
            }
        }
        return b;
    }

    /** Tokens written with \\u00XX escapes stand for single bytes. */
    static byte[][] latin1(List<String> tokens) {
        return tokens.stream().map(t -> t.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)).toArray(byte[][]::new);
    }
}
