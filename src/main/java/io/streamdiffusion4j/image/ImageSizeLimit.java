package io.streamdiffusion4j.image;

/**
 * The largest width and height an input image may declare, checked from its header before any
 * pixel buffer is allocated: a 1 MB PNG may claim 20000x20000 pixels (1.2 GB of RGB). The web
 * server and the command line set it with {@code --max-frame-size}; the defaults live here.
 *
 * @param maxSide the largest width or height in pixels, at least {@value #MIN_SIDE}
 */
public record ImageSizeLimit(int maxSide) {
    /** Frames from a browser's camera or screen (web server): 2048 covers 1080p and 2K. */
    public static final int DEFAULT_FRAME_SIDE = 2048;
    /** Input files on the command line: 8192 covers phone photos up to 50 MP (about 0.5 GB to decode). */
    public static final int DEFAULT_FILE_SIDE = 8192;
    public static final int MIN_SIDE = 8;
    /** The option that sets the limit, named in refusals so the user knows what to change. */
    public static final String OPTION = "--max-frame-size";

    public static final ImageSizeLimit FRAMES = new ImageSizeLimit(DEFAULT_FRAME_SIDE);
    public static final ImageSizeLimit FILES = new ImageSizeLimit(DEFAULT_FILE_SIDE);

    /** Java arrays hold at most about this many bytes; an RGB image must fit in one. */
    private static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;
    /** Room for metadata (EXIF, ICC profiles, text chunks) in a file beyond its pixels. */
    private static final long METADATA_BYTES = 16L << 20;

    public ImageSizeLimit {
        if (maxSide < MIN_SIDE) {
            throw new IllegalArgumentException("max frame side must be at least " + MIN_SIDE + " pixels, found " + maxSide);
        }
    }

    /**
     * Refuses a declared size: not positive (a damaged header), beyond the limit, or too large for
     * one RGB array whatever the limit.
     *
     * @param declaredBy what declared the size, e.g. "the PNG header"
     */
    public void check(String declaredBy, int width, int height) throws BadImageException {
        if (width <= 0 || height <= 0) {
            throw new BadImageException(declaredBy + " declares " + width + "x" + height + " pixels; both must be positive");
        }
        if (width > maxSide || height > maxSide) {
            throw new ImageTooLargeException(declaredBy + " declares " + width + "x" + height + " pixels, more than the limit of "
                    + maxSide + " pixels wide and high (" + OPTION + ")", width, height, maxSide);
        }
        if ((long) width * height * 3 > MAX_ARRAY_BYTES) {
            throw new ImageTooLargeException(declaredBy + " declares " + width + "x" + height
                    + " pixels, more than one RGB image in memory can hold", width, height, maxSide);
        }
    }

    /**
     * The largest file that can hold an image within the limit: 8 bytes a pixel (16-bit RGBA,
     * uncompressed) plus metadata. A larger file is refused before it is read into memory.
     */
    public long maxFileBytes() {
        return Math.min(MAX_ARRAY_BYTES, 8L * maxSide * maxSide + METADATA_BYTES);
    }
}
