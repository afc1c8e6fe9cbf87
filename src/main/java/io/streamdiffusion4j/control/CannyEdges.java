package io.streamdiffusion4j.control;

import io.streamdiffusion4j.image.RgbImage;

/**
 * The canny edge map a canny ControlNet is conditioned on: white one-pixel edges on black, the
 * same in all three channels. The steps of the usual detector (OpenCV's {@code Canny}, which the
 * ControlNet preprocessors call on the RGB frame): 3x3 Sobel gradients per channel (edges
 * replicated), at each pixel the channel with the largest L1 magnitude {@code |dx| + |dy|},
 * non-maximum suppression along the gradient's direction (horizontal, vertical or one of the
 * diagonals, split at 22.5 and 67.5 degrees, with OpenCV's comparisons), then hysteresis: pixels above {@code high} are
 * edges, and pixels above {@code low} join them when 8-connected to one.
 *
 * <p>Pure Java on primitive arrays; one instance can serve several threads (it holds only the
 * thresholds). Not yet wired into the pipeline: this is the first preprocessor of issue 12.
 *
 * @param low  the lower hysteresis threshold on the L1 gradient magnitude (of 8-bit values)
 * @param high the upper one; {@code low <= high}
 */
public record CannyEdges(int low, int high) {
    /** The thresholds ControlNet's canny preprocessors default to. */
    public static final CannyEdges DEFAULT = new CannyEdges(100, 200);
    /**
     * tan(22.5 degrees) in fixed point (x 2^15, rounded), as OpenCV splits the directions: exactly
     * this value, so the edge maps agree with OpenCV's pixel for pixel; tan(67.5 degrees) is it + 2.
     */
    private static final long TAN_22_5_FIXED = 13573;
    private static final int TAN_SHIFT = 15;

    public CannyEdges {
        if (low < 0 || high < low) {
            throw new IllegalArgumentException("canny thresholds must satisfy 0 <= low <= high, found low " + low + ", high " + high);
        }
    }

    /** The edge map of {@code image}, the same size. */
    public RgbImage apply(RgbImage image) {
        int w = image.width(), h = image.height();
        int[] dx = new int[w * h], dy = new int[w * h], mag = new int[w * h];
        sobel(image, dx, dy, mag);
        byte[] state = suppress(w, h, dx, dy, mag); // 0: not an edge, 1: weak candidate, 2: edge
        hysteresis(w, h, state);
        byte[] out = new byte[3 * w * h];
        for (int i = 0; i < w * h; i++) {
            if (state[i] == 2) {
                out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = (byte) 255;
            }
        }
        return new RgbImage(w, h, out);
    }

    /** Per pixel, the gradient of the channel with the largest L1 magnitude. */
    private static void sobel(RgbImage image, int[] dx, int[] dy, int[] mag) {
        int w = image.width(), h = image.height();
        byte[] rgb = image.rgb();
        for (int y = 0; y < h; y++) {
            int ym = Math.max(y - 1, 0), yp = Math.min(y + 1, h - 1);
            for (int x = 0; x < w; x++) {
                int xm = Math.max(x - 1, 0), xp = Math.min(x + 1, w - 1);
                int best = -1, bx = 0, by = 0;
                for (int c = 0; c < 3; c++) {
                    int a = v(rgb, w, xm, ym, c), b = v(rgb, w, x, ym, c), cc = v(rgb, w, xp, ym, c);
                    int d = v(rgb, w, xm, y, c), f = v(rgb, w, xp, y, c);
                    int g = v(rgb, w, xm, yp, c), hh = v(rgb, w, x, yp, c), k = v(rgb, w, xp, yp, c);
                    int gx = (cc + 2 * f + k) - (a + 2 * d + g);
                    int gy = (g + 2 * hh + k) - (a + 2 * b + cc);
                    int m = Math.abs(gx) + Math.abs(gy);
                    if (m > best) {
                        best = m;
                        bx = gx;
                        by = gy;
                    }
                }
                int i = y * w + x;
                dx[i] = bx;
                dy[i] = by;
                mag[i] = best;
            }
        }
    }

    private static int v(byte[] rgb, int w, int x, int y, int c) {
        return rgb[(y * w + x) * 3 + c] & 0xff;
    }

    /** Non-maximum suppression and the two thresholds: 2 above high, 1 above low, 0 otherwise. */
    private byte[] suppress(int w, int h, int[] dx, int[] dy, int[] mag) {
        byte[] state = new byte[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x, m = mag[i];
                if (m <= low) continue;
                long ax = Math.abs(dx[i]), ay = (long) Math.abs(dy[i]) << TAN_SHIFT;
                long tan22 = ax * TAN_22_5_FIXED;
                boolean max;
                if (ay < tan22) { // horizontal gradient: compare left and right
                    max = m > at(mag, w, h, x - 1, y) && m >= at(mag, w, h, x + 1, y);
                } else if (ay > tan22 + (ax << (TAN_SHIFT + 1))) { // vertical: above and below
                    max = m > at(mag, w, h, x, y - 1) && m >= at(mag, w, h, x, y + 1);
                } else { // diagonal: the one the gradient points along, both neighbours strictly below
                    int s = (dx[i] ^ dy[i]) < 0 ? -1 : 1;
                    max = m > at(mag, w, h, x - s, y - 1) && m > at(mag, w, h, x + s, y + 1);
                }
                // (ties: strictly above one side, at least the other, so a plateau two pixels wide keeps one)
                if (max) state[i] = (byte) (m > high ? 2 : 1);
            }
        }
        return state;
    }

    private static int at(int[] mag, int w, int h, int x, int y) {
        return x < 0 || y < 0 || x >= w || y >= h ? 0 : mag[y * w + x];
    }

    /** Weak candidates 8-connected to an edge become edges; the rest are dropped. */
    private static void hysteresis(int w, int h, byte[] state) {
        int[] stack = new int[w * h];
        int top = 0;
        for (int i = 0; i < state.length; i++) if (state[i] == 2) stack[top++] = i;
        while (top > 0) {
            int i = stack[--top], x = i % w, y = i / w;
            for (int oy = -1; oy <= 1; oy++) {
                for (int ox = -1; ox <= 1; ox++) {
                    int nx = x + ox, ny = y + oy;
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                    int j = ny * w + nx;
                    if (state[j] == 1) {
                        state[j] = 2;
                        stack[top++] = j;
                    }
                }
            }
        }
    }
}
