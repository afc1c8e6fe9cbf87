package io.streamdiffusion4j.bench;

import java.util.Locale;
import java.util.Random;

/**
 * In which order the arms of a comparison take their turns within each round. Every arm runs
 * once per round, so a change of machine load between rounds reaches all arms alike; the order
 * inside a round decides who runs first after the others (caches, CPU frequency, a neighbour's
 * build starting mid-round).
 */
public enum Order {
    /** A B C, A B C, ...: simplest; a drift within a round always favours the same arm. */
    ALTERNATE("alternate"),
    /** A B C, C B A, ...: every other round reversed, so a steady drift cancels over each pair of rounds. */
    ABBA("abba"),
    /** A fresh random permutation per round (seeded, so the order can be repeated). */
    RANDOM("random");

    private final String key;

    Order(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    /** The order of arms {@code 0..arms-1} in round {@code round}; {@code random} is used by RANDOM only. */
    int[] round(int round, int arms, Random random) {
        int[] order = new int[arms];
        for (int i = 0; i < arms; i++) order[i] = i;
        switch (this) {
            case ALTERNATE -> { }
            case ABBA -> {
                if (round % 2 == 1) {
                    for (int i = 0; i < arms / 2; i++) {
                        int t = order[i];
                        order[i] = order[arms - 1 - i];
                        order[arms - 1 - i] = t;
                    }
                }
            }
            case RANDOM -> {
                for (int i = arms - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
            }
        }
        return order;
    }

    public static Order parse(String value) {
        for (Order o : values()) if (o.key.equals(value.trim().toLowerCase(Locale.ROOT))) return o;
        throw new IllegalArgumentException("unknown order '" + value + "'; expected alternate, abba or random");
    }
}
