package io.streamdiffusion4j.image;

import java.util.Arrays;
import java.util.Map;

/**
 * Run in a child JVM by {@link DamagedJpegTest}: every kind of damaged JPEG, each followed by a
 * valid one, three rounds, on the codec named by the argument ("best" or "imageio"). Exits 0 and
 * prints "survived" when every damaged one was refused and every valid one decoded right; a
 * decoder that keeps state across errors crashes here (the old shared TurboJPEG handle did).
 */
public final class DamagedJpegSequence {
    private DamagedJpegSequence() {}

    public static void main(String[] args) throws Exception {
        ImageCodec codec = args.length > 0 && args[0].equals("imageio") ? new ImageIoCodec() : ImageCodec.best();
        byte[] valid = TestImages.jpeg(512, 512);
        byte[] expected = codec.decode(valid).rgb();
        Map<String, byte[]> damaged = TestImages.damagedJpegs(valid, true);
        for (int round = 0; round < 3; round++) {
            for (Map.Entry<String, byte[]> e : damaged.entrySet()) {
                try {
                    codec.decode(e.getValue());
                    fail(codec, "a JPEG " + e.getKey() + " was decoded without an error");
                } catch (BadImageException expectedRefusal) {
                    System.out.println(e.getKey() + ": " + expectedRefusal.getMessage());
                }
                if (!Arrays.equals(codec.decode(valid).rgb(), expected)) {
                    fail(codec, "a valid JPEG after one " + e.getKey() + " decoded differently");
                }
            }
        }
        System.out.println("survived: " + codec.name());
    }

    private static void fail(ImageCodec codec, String why) {
        System.out.println(codec.name() + ": " + why);
        System.exit(3);
    }
}
