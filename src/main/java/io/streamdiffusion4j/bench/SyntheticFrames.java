package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.image.RgbImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Input frames for benchmarks without a video: a moving scene (a bright disc circling over a
 * gradient whose colours drift, so consecutive frames clearly differ) and a still one (the
 * first moving frame repeated, what a webcam pointed at a wall gives).
 */
final class SyntheticFrames {
    private SyntheticFrames() {}

    static List<RgbImage> moving(int count, int width, int height) {
        List<RgbImage> frames = new ArrayList<>(count);
        for (int i = 0; i < count; i++) frames.add(frame(i, width, height));
        return frames;
    }

    static List<RgbImage> still(int count, int width, int height) {
        RgbImage first = frame(0, width, height);
        List<RgbImage> frames = new ArrayList<>(count);
        for (int i = 0; i < count; i++) frames.add(first);
        return frames;
    }

    private static RgbImage frame(int index, int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        double angle = index * 0.9;
        double cx = width * (0.5 + 0.3 * Math.cos(angle));
        double cy = height * (0.5 + 0.3 * Math.sin(angle));
        double radius = Math.min(width, height) * 0.22;
        int shift = (index * 37) % 256;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = (y * width + x) * 3;
                boolean inDisc = (x - cx) * (x - cx) + (y - cy) * (y - cy) < radius * radius;
                int r = inDisc ? 250 : (x * 255 / width + shift) % 256;
                int g = inDisc ? 240 : (y * 255 / height + 2 * shift) % 256;
                int b = inDisc ? 30 : ((x + y) * 255 / (width + height) + 3 * shift) % 256;
                rgb[p] = (byte) r;
                rgb[p + 1] = (byte) g;
                rgb[p + 2] = (byte) b;
            }
        }
        return new RgbImage(width, height, rgb);
    }
}
