package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.image.RgbImage;

/** Peak signal-to-noise ratio of 8-bit images, in dB: 10 log10(255^2 / mean squared difference). */
public final class Psnr {
    private Psnr() {}

    /** Infinite when the images are identical. */
    public static double of(RgbImage a, RgbImage b) {
        if (a.width() != b.width() || a.height() != b.height()) {
            throw new IllegalArgumentException("images differ in size: " + a.width() + "x" + a.height() + " and "
                    + b.width() + "x" + b.height());
        }
        byte[] x = a.rgb();
        byte[] y = b.rgb();
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            int d = (x[i] & 0xff) - (y[i] & 0xff);
            sum += d * d;
        }
        double mse = sum / x.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(255.0 * 255.0 / mse);
    }
}
