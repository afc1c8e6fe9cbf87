package io.streamdiffusion4j.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * libFuzzer's classic mutations without coverage feedback: bit flips, random and "interesting"
 * bytes and integers (both byte orders, the sizes length and offset fields use), inserts,
 * deletes, duplicated ranges, splices with another corpus entry, truncation, and tokens from a
 * per-target dictionary (markers, keys, keywords). One to four mutations are stacked per input.
 */
public final class ByteMutator implements Mutator {
    private static final int[] BYTES = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x20, 0x0a, '"', '\\', '{', '[', '-', '9'};
    private static final long[] INTS = {0, 1, -1, 2, 7, 8, 16, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffffL,
            0x80000000L, 0xffffffffL, 0x100000000L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40};

    private final byte[][] dictionary;
    private final int maxLength;

    public ByteMutator(int maxLength, List<String> tokens) {
        this(maxLength, tokens.stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new));
    }

    public ByteMutator(int maxLength, byte[]... dictionary) {
        this.maxLength = maxLength;
        this.dictionary = dictionary;
    }

    @Override
    public byte[] mutate(byte[] base, List<byte[]> corpus, SplittableRandom r) {
        byte[] b = base;
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) b = once(b, corpus, r);
        return b.length > maxLength ? Arrays.copyOf(b, maxLength) : b;
    }

    private byte[] once(byte[] b, List<byte[]> corpus, SplittableRandom r) {
        int op = r.nextInt(b.length == 0 ? 2 : 14);
        switch (op) {
            case 0: return insert(b, r.nextInt(b.length + 1), randomBytes(r, 1 + r.nextInt(16)));
            case 1: return dictionary.length == 0 ? insert(b, r.nextInt(b.length + 1), randomBytes(r, 1))
                    : insert(b, r.nextInt(b.length + 1), dictionary[r.nextInt(dictionary.length)]);
            default: break;
        }
        b = b.clone();
        int at = r.nextInt(b.length);
        switch (op) {
            case 2 -> b[at] ^= (byte) (1 << r.nextInt(8));
            case 3 -> b[at] = (byte) r.nextInt(256);
            case 4 -> b[at] = (byte) BYTES[r.nextInt(BYTES.length)];
            case 5 -> putInt(b, at, 2, INTS[r.nextInt(INTS.length)] + r.nextInt(3) - 1, r.nextBoolean());
            case 6 -> putInt(b, at, 4, INTS[r.nextInt(INTS.length)] + r.nextInt(3) - 1, r.nextBoolean());
            case 7 -> putInt(b, at, 8, INTS[r.nextInt(INTS.length)], r.nextBoolean());
            case 8 -> { // delete a range
                int len = 1 + r.nextInt(Math.min(b.length - at, 64));
                byte[] out = new byte[b.length - len];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + len, out, at, b.length - at - len);
                return out;
            }
            case 9 -> { // duplicate a range somewhere else
                int len = 1 + r.nextInt(Math.min(b.length - at, 64));
                return insert(b, r.nextInt(b.length + 1), Arrays.copyOfRange(b, at, at + len));
            }
            case 10 -> { // splice: this input's head, another's tail
                byte[] other = corpus.get(r.nextInt(corpus.size()));
                int from = other.length == 0 ? 0 : r.nextInt(other.length);
                byte[] out = Arrays.copyOf(b, at + other.length - from);
                System.arraycopy(other, from, out, at, other.length - from);
                return out;
            }
            case 11 -> { // overwrite with a dictionary token
                if (dictionary.length == 0) return b;
                byte[] t = dictionary[r.nextInt(dictionary.length)];
                System.arraycopy(t, 0, b, at, Math.min(t.length, b.length - at));
            }
            case 12 -> {
                return Arrays.copyOf(b, at); // truncate
            }
            case 13 -> { // copy a range over another place
                int len = 1 + r.nextInt(Math.min(b.length - at, 32));
                int to = r.nextInt(b.length);
                System.arraycopy(b, at, b, to, Math.min(len, b.length - to));
            }
            default -> throw new AssertionError(op);
        }
        return b;
    }

    private static void putInt(byte[] b, int at, int size, long v, boolean bigEndian) {
        for (int i = 0; i < size && at + i < b.length; i++) {
            int shift = 8 * (bigEndian ? size - 1 - i : i);
            b[at + i] = (byte) (v >>> shift);
        }
    }

    private static byte[] insert(byte[] b, int at, byte[] what) {
        byte[] out = new byte[b.length + what.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(what, 0, out, at, what.length);
        System.arraycopy(b, at, out, at + what.length, b.length - at);
        return out;
    }

    private static byte[] randomBytes(SplittableRandom r, int n) {
        byte[] out = new byte[n];
        r.nextBytes(out);
        return out;
    }
}
