package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The per-session frame rate: a small burst, then the rate. */
class RateLimiterTest {

    @Test
    void theRateLimiterAllowsASmallBurstThenTheRate() {
        RateLimiter r = new RateLimiter(8, 0);
        assertThat(r.tryAcquire(0)).isTrue();
        assertThat(r.tryAcquire(0)).isTrue();
        assertThat(r.tryAcquire(0)).as("burst of 2 at 8/s").isFalse();
        assertThat(r.tryAcquire(50_000_000)).as("0.4 token after 50 ms").isFalse();
        assertThat(r.tryAcquire(125_000_000)).as("a token after 125 ms").isTrue();
        long accepted = 0;
        for (long t = 125_000_000; t < 10_125_000_000L; t += 10_000_000) if (r.tryAcquire(t)) accepted++;
        assertThat(accepted).as("10 s of 100 tries a second").isBetween(79L, 82L);
    }
}
