package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Server options are checked when they are made, with the reason. */
class WebServerOptionsTest {

    @Test
    void optionsAreCheckedWhenMade() {
        WebServerOptions d = WebServerOptions.defaults();
        assertThat(d.loopbackOnly()).isTrue();
        assertThat(d.withHost("0.0.0.0").loopbackOnly()).isFalse();
        assertThatThrownBy(() -> d.withMaxSessions(0)).hasMessageContaining("max sessions");
        assertThatThrownBy(() -> d.withMaxFps(0)).hasMessageContaining("max fps");
        assertThatThrownBy(() -> d.withSessionTimeout(Duration.ofSeconds(-1))).hasMessageContaining("session timeout");
        assertThatThrownBy(() -> d.withMaxMessageBytes(10)).hasMessageContaining("at least 1024");
        assertThatThrownBy(() -> d.withAccessToken("short")).hasMessageContaining("at least 8");
        assertThatThrownBy(() -> d.withAllowedOrigins(List.of("example.org"))).hasMessageContaining("not an origin");
    }
}
