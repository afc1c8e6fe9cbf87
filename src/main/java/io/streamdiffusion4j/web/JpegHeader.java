package io.streamdiffusion4j.web;

/**
 * The size of a JPEG read from its frame header, without decoding: the server checks a frame's
 * dimensions before it allocates pixels for it, so a small file that claims to be 60000x60000
 * costs nothing.
 */
record JpegHeader(int width, int height) {

    /** Reads the first start-of-frame marker; throws IllegalArgumentException when the bytes are not a JPEG. */
    static JpegHeader read(byte[] data) {
        if (data.length < 4 || (data[0] & 0xff) != 0xFF || (data[1] & 0xff) != 0xD8) {
            throw new IllegalArgumentException("binary messages must be JPEG images (they start with FF D8)");
        }
        int i = 2;
        while (i + 4 <= data.length) {
            if ((data[i] & 0xff) != 0xFF) throw new IllegalArgumentException("corrupt JPEG: no marker at byte " + i);
            int marker = data[i + 1] & 0xff;
            if (marker == 0xFF) { // fill byte
                i++;
                continue;
            }
            if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { // markers without length
                i += 2;
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA) break; // end of image or start of scan before any frame header
            int length = ((data[i + 2] & 0xff) << 8) | (data[i + 3] & 0xff);
            if (length < 2) throw new IllegalArgumentException("corrupt JPEG: segment length " + length + " at byte " + i);
            boolean startOfFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (startOfFrame) {
                if (i + 9 > data.length) break;
                int height = ((data[i + 5] & 0xff) << 8) | (data[i + 6] & 0xff);
                int width = ((data[i + 7] & 0xff) << 8) | (data[i + 8] & 0xff);
                if (width == 0 || height == 0) {
                    throw new IllegalArgumentException("JPEG frame header says " + width + "x" + height);
                }
                return new JpegHeader(width, height);
            }
            i += 2 + length;
        }
        throw new IllegalArgumentException("corrupt or truncated JPEG: no frame header");
    }
}
