package io.streamdiffusion4j.image;

/** Picks the codec once per process. */
final class ImageCodecs {
    static final ImageCodec BEST = choose();

    private ImageCodecs() {}

    private static ImageCodec choose() {
        if (!"false".equals(System.getProperty("streamdiffusion4j.turbojpeg"))) {
            ImageCodec turbo = TurboJpegCodec.load();
            if (turbo != null) return turbo;
        }
        return new ImageIoCodec();
    }
}
