package io.streamdiffusion4j.image;

import java.io.IOException;

/**
 * Compressed image bytes to pixels and back; implemented by TurboJPEG (when installed) and ImageIO.
 * Implementations are safe to call from several threads at once, and no decoder state survives a
 * call: a damaged image fails that call only.
 */
public interface ImageCodec {

    /**
     * Decodes a JPEG, PNG, GIF or BMP into 8-bit RGB after checking its header ({@link ImageHeader}):
     * a size beyond the limit, a damaged header or data too short for the declared size is refused
     * before any pixel buffer is allocated, and a decoder warning (damaged data) is an error.
     *
     * @throws ImageTooLargeException when the declared size is beyond the limit
     * @throws BadImageException when the bytes are not a valid image of a supported format
     */
    RgbImage decode(byte[] data, ImageSizeLimit limit) throws IOException;

    /** {@link #decode(byte[], ImageSizeLimit)} with the limit for frames, {@link ImageSizeLimit#FRAMES}. */
    default RgbImage decode(byte[] data) throws IOException {
        return decode(data, ImageSizeLimit.FRAMES);
    }

    /** Encodes as JPEG with a quality in [1, 100] and 4:2:0 chroma subsampling. */
    byte[] encodeJpeg(RgbImage image, int quality) throws IOException;

    String name();

    /** TurboJPEG when libturbojpeg loads (unless -Dstreamdiffusion4j.turbojpeg=false), else ImageIO. */
    static ImageCodec best() {
        return ImageCodecs.BEST;
    }
}
