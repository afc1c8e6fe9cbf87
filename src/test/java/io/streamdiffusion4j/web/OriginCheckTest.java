package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Origins are normalised before they are compared (the upgrade check itself: LimitsTest). */
class OriginCheckTest {

    @Test
    void originsAreNormalised() {
        assertThat(OriginCheck.parseOrigin("HTTPS://Example.ORG")).isEqualTo("https://example.org:443");
        assertThat(OriginCheck.parseOrigin("http://example.org")).isEqualTo("http://example.org:80");
        assertThat(OriginCheck.parseOrigin("http://127.0.0.1:7860/")).isEqualTo("http://127.0.0.1:7860");
        for (String bad : List.of("null", "example.org", "ftp://example.org", "http://example.org/page", "http://u@example.org",
                "http://example.org?x=1")) {
            assertThatThrownBy(() -> OriginCheck.parseOrigin(bad)).as(bad).hasMessageContaining("not an origin");
        }
    }
}
