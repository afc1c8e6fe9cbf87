package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** bench-web's errors: a bad URL and a server that is not there are clear messages, not stack traces. */
class WebBenchCommandTest {
    private static CliTest.Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliTest.Result(code, out.toString(), err.toString());
    }

    @Test
    void aUrlThatIsNotAWebSocketIsAConfigurationError() {
        CliTest.Result r = run("bench-web", "--url", "http://127.0.0.1:7860/ws");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("ws:// or wss://").contains("http://127.0.0.1:7860/ws");

        CliTest.Result frames = run("bench-web", "--frames", "1");
        assertThat(frames.exitCode()).isEqualTo(2);
        assertThat(frames.err()).contains(">= 2 measured frames");
    }

    @Test
    void noServerThereSaysSo() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // free once closed: nothing listens there
        }
        CliTest.Result r = run("bench-web", "--url", "ws://127.0.0.1:" + port + "/ws", "--timeout", "20");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("cannot open ws://127.0.0.1:" + port + "/ws").contains("serve");
    }
}
