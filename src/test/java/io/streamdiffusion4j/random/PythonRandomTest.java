package io.streamdiffusion4j.random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PythonRandomTest {

    /** Values printed by CPython 3.11: random.seed(s); random.uniform(0, 1). */
    @Test
    void matchesCpythonRandom() {
        PythonRandom r = new PythonRandom(2);
        assertThat(r.nextUniform()).isEqualTo(0.9560342718892494);
        assertThat(r.nextUniform()).isEqualTo(0.9478274870593494);
        assertThat(new PythonRandom(123456789012L).nextUniform()).isEqualTo(0.37701448538609916);
    }

    @Test
    void replaysRecordedDrawsAndFailsWhenTheyRunOut(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("draws.txt");
        Files.writeString(f, "# draws\n0.25\n\n0.75\n");
        ReplayedUniforms r = ReplayedUniforms.fromFile(f);
        assertThat(r.nextUniform()).isEqualTo(0.25);
        assertThat(r.nextUniform()).isEqualTo(0.75);
        assertThatThrownBy(r::nextUniform).hasMessageContaining("ran out after 2");
    }

    @Test
    void rejectsDrawsThatAreNotNumbersInTheUnitInterval(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("draws.txt");
        Files.writeString(f, "0.5\nabc\n");
        assertThatThrownBy(() -> ReplayedUniforms.fromFile(f)).hasMessageContaining("line 2").hasMessageContaining("abc");
        Files.writeString(f, "1.5\n");
        assertThatThrownBy(() -> ReplayedUniforms.fromFile(f)).hasMessageContaining("[0, 1]");
    }
}
