package io.streamdiffusion4j.image;

import java.io.IOException;

/** Compressed image bytes to pixels and back; implemented by TurboJPEG (when installed) and ImageIO. */
public interface ImageCodec {

    /** Decodes a JPEG, PNG (or anything the codec reads) into 8-bit RGB. */
    RgbImage decode(byte[] data) throws IOException;

    /** Encodes as JPEG with a quality in [1, 100] and 4:2:0 chroma subsampling. */
    byte[] encodeJpeg(RgbImage image, int quality) throws IOException;

    String name();

    /** TurboJPEG when libturbojpeg loads (unless -Dstreamdiffusion4j.turbojpeg=false), else ImageIO. */
    static ImageCodec best() {
        return ImageCodecs.BEST;
    }
}
