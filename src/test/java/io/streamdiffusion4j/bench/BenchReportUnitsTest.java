package io.streamdiffusion4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Memory is stated in binary units, as ps, free and /usr/bin/time count it. */
class BenchReportUnitsTest {
    @Test
    void bytesAreStatedInKibMibGib() {
        assertThat(BenchReport.bytes(-1)).isEqualTo("n/a");
        assertThat(BenchReport.bytes(10_239)).isEqualTo("10239 B");
        assertThat(BenchReport.bytes(10_240)).isEqualTo("10.0 KiB");
        assertThat(BenchReport.bytes(1_657_200)).isEqualTo("1618.4 KiB");
        // the peak RSS once printed as "5540.2 MB" (10^6 bytes)
        assertThat(BenchReport.bytes(5_540_200_000L)).isEqualTo("5283.5 MiB");
        assertThat(BenchReport.bytes(713_056L * 1024)).as("/usr/bin/time's 713056 KiB").isEqualTo("696.3 MiB");
        assertThat(BenchReport.bytes(10L << 30)).isEqualTo("10.00 GiB");
    }
}
