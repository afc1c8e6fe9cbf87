package io.streamdiffusion4j.image;

import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * The format and size of an image, read from its header without decoding: every decoder checks
 * them against the caller's {@link ImageSizeLimit} and against the length of the data before it
 * allocates pixels, so a small file that claims to be 60000x60000 costs nothing. Only the formats
 * whose header is checked here are decoded (PNG, JPEG, GIF, BMP); anything else ImageIO could
 * read (TIFF, WBMP, plug-ins) is refused.
 */
public record ImageHeader(Format format, int width, int height) {

    public enum Format {
        JPEG("jpeg"), PNG("png"), GIF("gif"), BMP("bmp");

        private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

        private final String imageIoName;

        Format(String imageIoName) {
            this.imageIoName = imageIoName;
        }

        /** The name of ImageIO's reader for the format. */
        public String imageIoName() {
            return imageIoName;
        }

        /** The format whose signature starts the data, or null when none does. */
        public static Format of(byte[] data) {
            if (data.length >= 2 && u8(data, 0) == 0xFF && u8(data, 1) == 0xD8) return JPEG;
            if (startsWith(data, PNG_SIGNATURE)) return PNG;
            if (startsWith(data, "GIF87a".getBytes()) || startsWith(data, "GIF89a".getBytes())) return GIF;
            if (data.length >= 2 && data[0] == 'B' && data[1] == 'M') return BMP;
            return null;
        }
    }

    /** libjpeg-turbo's TJFLAG_LIMITSCANS bound; real progressive files have about ten scans, each costs a pass over the image. */
    static final int MAX_JPEG_SCANS = 500;
    /** Deflate compresses at most 1032:1 (zlib's documented maximum). */
    private static final int DEFLATE_MAX_RATIO = 1032;

    /** What a format's parser found: the declared size and the least number of bytes a file with that header takes. */
    private record Declared(int width, int height, long minimumBytes) {}

    /**
     * Reads and checks the header: a supported format, a well-formed header, a declared size
     * within the limit, and data long enough to hold an image of that size.
     *
     * @throws ImageTooLargeException when the declared size is beyond the limit
     * @throws BadImageException for anything else wrong
     */
    public static ImageHeader read(byte[] data, ImageSizeLimit limit) throws BadImageException {
        Format format = Format.of(data);
        if (format == null) {
            throw new BadImageException("not a PNG, JPEG, GIF or BMP image (" + describeStart(data) + ")");
        }
        Declared d = switch (format) {
            case JPEG -> jpeg(data);
            case PNG -> png(data);
            case GIF -> gif(data);
            case BMP -> bmp(data);
        };
        limit.check("the " + format + " header", d.width(), d.height());
        if (data.length < d.minimumBytes()) {
            throw new BadImageException("truncated " + format + ": its header declares " + d.width() + "x" + d.height()
                    + " pixels, which take at least " + d.minimumBytes() + " bytes, but there are only " + data.length);
        }
        return new ImageHeader(format, d.width(), d.height());
    }

    private static Declared jpeg(byte[] data) throws BadImageException {
        int i = 2;
        int width = 0;
        int height = 0;
        boolean haveFrame = false;
        boolean sequentialHuffman = false;
        while (true) {
            if (i + 4 > data.length) {
                throw new BadImageException(haveFrame ? "truncated JPEG: no start of scan after the frame header"
                        : "corrupt or truncated JPEG: no frame header");
            }
            if (u8(data, i) != 0xFF) throw new BadImageException("corrupt JPEG: no marker at byte " + i);
            int marker = u8(data, i + 1);
            if (marker == 0xFF) { // fill byte
                i++;
                continue;
            }
            if (marker == 0xD8) throw new BadImageException("corrupt JPEG: a second start-of-image marker at byte " + i);
            if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { // markers without a length
                i += 2;
                continue;
            }
            if (marker == 0xD9) {
                throw new BadImageException(haveFrame ? "corrupt JPEG: end of image before the first scan"
                        : "corrupt or truncated JPEG: no frame header");
            }
            int length = u16be(data, i + 2);
            if (length < 2) throw new BadImageException("corrupt JPEG: segment length " + length + " at byte " + i);
            if ((long) i + 2 + length > data.length) {
                throw new BadImageException("truncated JPEG: the segment at byte " + i + " (marker FF" + hex(marker) + ") takes "
                        + length + " bytes, only " + (data.length - i - 2) + " remain");
            }
            boolean startOfFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (startOfFrame) {
                if (haveFrame) throw new BadImageException("corrupt JPEG: a second frame header at byte " + i);
                int components = length >= 8 ? u8(data, i + 9) : -1;
                if (components < 1 || length != 8 + 3 * components) {
                    throw new BadImageException("corrupt JPEG: frame header at byte " + i + " of " + length + " bytes for "
                            + components + " component(s)");
                }
                height = u16be(data, i + 5);
                width = u16be(data, i + 7);
                haveFrame = true;
                sequentialHuffman = marker == 0xC0 || marker == 0xC1;
            } else if (marker == 0xDA) {
                if (!haveFrame) throw new BadImageException("corrupt JPEG: a scan before the frame header at byte " + i);
                int entropyData = i + 2 + length;
                if (entropyData >= data.length) throw new BadImageException("truncated JPEG: no image data after the start of scan");
                int scans = 1 + countScans(data, entropyData);
                if (scans > MAX_JPEG_SCANS) {
                    throw new BadImageException("JPEG with " + scans + " scans; at most " + MAX_JPEG_SCANS + " are decoded");
                }
                // A sequential Huffman-coded image spends at least 2 bits (a DC code and an end-of-block code)
                // on each 8x8 block of its full-resolution component; progressive and arithmetic coding can spend less.
                long blocks = ((width + 7L) / 8) * ((height + 7L) / 8);
                long minimum = sequentialHuffman ? entropyData + (blocks * 2 + 7) / 8 : entropyData + 1;
                return new Declared(width, height, minimum);
            }
            i += 2 + length;
        }
    }

    /** Start-of-scan markers in the rest of the file; entropy-coded data cannot contain FF DA (an FF there is followed by 00). */
    private static int countScans(byte[] data, int from) {
        int n = 0;
        for (int i = from; i + 1 < data.length; i++) {
            if (data[i] == (byte) 0xFF && data[i + 1] == (byte) 0xDA) n++;
        }
        return n;
    }

    private static Declared png(byte[] data) throws BadImageException {
        // signature (8), IHDR length (4) and type (4), 13 bytes of IHDR, CRC (4)
        if (data.length < 33) throw new BadImageException("truncated PNG: " + data.length + " bytes, no complete IHDR chunk");
        if (u32be(data, 8) != 13 || data[12] != 'I' || data[13] != 'H' || data[14] != 'D' || data[15] != 'R') {
            throw new BadImageException("corrupt PNG: the first chunk is not a 13-byte IHDR");
        }
        CRC32 crc = new CRC32();
        crc.update(data, 12, 17);
        if (crc.getValue() != u32be(data, 29)) throw new BadImageException("corrupt PNG: the IHDR chunk fails its CRC check");
        long width = u32be(data, 16);
        long height = u32be(data, 20);
        int bitDepth = u8(data, 24);
        int colourType = u8(data, 25);
        int channels = switch (colourType) {
            case 0, 3 -> 1;
            case 2 -> 3;
            case 4 -> 2;
            case 6 -> 4;
            default -> throw new BadImageException("corrupt PNG: colour type " + colourType);
        };
        boolean depthAllowed = switch (colourType) {
            case 0 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
            case 3 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
            default -> bitDepth == 8 || bitDepth == 16;
        };
        if (!depthAllowed) throw new BadImageException("corrupt PNG: bit depth " + bitDepth + " with colour type " + colourType);
        // PNG sizes are below 2^31; a larger value is a damaged header, reported as not positive
        int w = width > Integer.MAX_VALUE ? -1 : (int) width;
        int h = height > Integer.MAX_VALUE ? -1 : (int) height;
        long rowBytes = 1 + (Math.max(w, 0) * (long) channels * bitDepth + 7) / 8; // filter byte + pixels
        long rawBytes = rowBytes * Math.max(h, 0);
        return new Declared(w, h, 33 + rawBytes / DEFLATE_MAX_RATIO);
    }

    private static Declared gif(byte[] data) throws BadImageException {
        if (data.length < 13) throw new BadImageException("truncated GIF: " + data.length + " bytes, no logical screen descriptor");
        int width = u16le(data, 6);
        int height = u16le(data, 8);
        // LZW codes are at least 3 bits and stand for at most 4096 pixels each
        long minimum = 13 + (long) width * height * 3 / (4096 * 8);
        return new Declared(width, height, minimum);
    }

    private static Declared bmp(byte[] data) throws BadImageException {
        if (data.length < 26) throw new BadImageException("truncated BMP: " + data.length + " bytes, no complete header");
        long pixelOffset = u32le(data, 10);
        long headerSize = u32le(data, 14);
        int width;
        int height;
        int bitsPerPixel;
        long compression;
        if (headerSize == 12) { // OS/2 BITMAPCOREHEADER
            width = u16le(data, 18);
            height = u16le(data, 20);
            bitsPerPixel = u16le(data, 24);
            compression = 0;
        } else if (headerSize >= 40 && headerSize <= 124) {
            if (data.length < 14 + 40) throw new BadImageException("truncated BMP: " + data.length + " bytes, no complete header");
            width = (int) u32le(data, 18);
            int signedHeight = (int) u32le(data, 22);
            // negative: rows stored top-down; the most negative value has no positive counterpart
            height = signedHeight == Integer.MIN_VALUE ? -1 : Math.abs(signedHeight);
            bitsPerPixel = u16le(data, 28);
            compression = u32le(data, 30);
        } else {
            throw new BadImageException("unsupported BMP: header of " + headerSize + " bytes");
        }
        if (bitsPerPixel != 1 && bitsPerPixel != 4 && bitsPerPixel != 8 && bitsPerPixel != 16 && bitsPerPixel != 24
                && bitsPerPixel != 32) {
            throw new BadImageException("corrupt BMP: " + bitsPerPixel + " bits per pixel");
        }
        long minimum = pixelOffset;
        boolean uncompressed = compression == 0 || compression == 3 || compression == 6; // RGB, (alpha) bit fields
        if (uncompressed && width > 0 && height > 0) {
            long stride = ((long) width * bitsPerPixel + 31) / 32 * 4;
            minimum += stride * height;
        }
        return new Declared(width, height, minimum);
    }

    private static String describeStart(byte[] data) {
        if (data.length == 0) return "no bytes";
        int n = Math.min(data.length, 8);
        return data.length + " bytes starting with " + HexFormat.ofDelimiter(" ").withUpperCase().formatHex(data, 0, n);
    }

    private static String hex(int b) {
        return HexFormat.of().withUpperCase().toHexDigits((byte) b);
    }

    private static int u8(byte[] d, int i) {
        return d[i] & 0xff;
    }

    private static boolean startsWith(byte[] data, byte[] prefix) {
        if (data.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) if (data[i] != prefix[i]) return false;
        return true;
    }

    private static int u16be(byte[] d, int i) {
        return (u8(d, i) << 8) | u8(d, i + 1);
    }

    private static int u16le(byte[] d, int i) {
        return u8(d, i) | (u8(d, i + 1) << 8);
    }

    private static long u32be(byte[] d, int i) {
        return ((long) u16be(d, i) << 16) | u16be(d, i + 2);
    }

    private static long u32le(byte[] d, int i) {
        return u16le(d, i) | ((long) u16le(d, i + 2) << 16);
    }
}
