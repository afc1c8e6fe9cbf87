package io.streamdiffusion4j.image;

/**
 * An 8-bit RGB image, pixels interleaved row by row ({@code rgb[(y * width + x) * 3 + c]}).
 * This is what frames are between the file or camera and the pipeline's float tensors.
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, found " + width + "x" + height);
        }
        long needed = 3L * width * height; // in long: 30000x30000x3 overflows an int
        if (rgb.length != needed) {
            throw new IllegalArgumentException("a " + width + "x" + height + " RGB image needs "
                    + needed + " bytes, found " + rgb.length);
        }
    }

    /** Channel value in [0, 255]. */
    public int get(int x, int y, int channel) {
        return rgb[(y * width + x) * 3 + channel] & 0xff;
    }
}
