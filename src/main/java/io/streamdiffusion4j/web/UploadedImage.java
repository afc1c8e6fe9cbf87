package io.streamdiffusion4j.web;

import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImageHeader;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.ImageTooLargeException;
import io.streamdiffusion4j.image.RgbImage;
import java.io.IOException;
import java.util.HexFormat;
import java.util.Set;

/**
 * The one way an image a page sends becomes pixels, whatever it is (a camera frame, a style
 * image): the format from its first bytes, the size from its header before any pixel buffer is
 * allocated ({@link ImageSizeLimit}, the server's {@code --max-frame-size}), then the codec, which
 * keeps no decoder state from one call to the next (a damaged image fails its own call only).
 * Each refusal is a {@link ProtocolException} that names the image, what was expected and what came.
 *
 * @param what     the image in messages ("frame")
 * @param formats  the formats taken
 * @param formatRule the refusal of another format
 */
record UploadedImage(String what, String tooLargeCode, String badCode, Set<ImageHeader.Format> formats, String formatRule) {
    static final UploadedImage FRAME = new UploadedImage("frame", "frame_too_large", "bad_frame", Set.of(ImageHeader.Format.JPEG),
            "binary messages must be JPEG images (they start with FF D8)");
    /** A style image comes from a file the user picked: JPEG or PNG, as it is on disk. */
    static final UploadedImage STYLE = new UploadedImage("style image", "style_image_too_large", "bad_style_image",
            Set.of(ImageHeader.Format.JPEG, ImageHeader.Format.PNG),
            "style images must be JPEG or PNG files (a JPEG starts with FF D8, a PNG with 89 50 4E 47)");

    /** Checks and decodes {@code data} (called on the socket's thread: never on a model thread). */
    RgbImage decode(byte[] data, ImageCodec codec, ImageSizeLimit limit) throws ProtocolException {
        ImageHeader.Format format = ImageHeader.Format.of(data);
        if (format == null || !formats.contains(format)) {
            throw new ProtocolException(badCode, formatRule + "; found " + (format != null ? "a " + format.name() + " image"
                    : data.length == 0 ? "no bytes" : "bytes " + HexFormat.ofDelimiter(" ").withUpperCase()
                    .formatHex(data, 0, Math.min(4, data.length))));
        }
        try {
            return codec.decode(data, limit); // checks the header before it allocates anything
        } catch (ImageTooLargeException e) {
            throw new ProtocolException(tooLargeCode, "the " + what + " is " + e.width() + "x" + e.height() + "; " + what
                    + "s may be at most " + e.maxSide() + " pixels wide and high");
        } catch (IOException | RuntimeException e) {
            throw new ProtocolException(badCode, "the " + (formats.size() == 1 ? format.name() : what + " (" + format.name() + ")")
                    + " could not be decoded: " + e.getMessage());
        }
    }
}
