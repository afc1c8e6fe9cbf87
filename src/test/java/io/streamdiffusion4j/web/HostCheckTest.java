package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Handler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 7: DNS rebinding. A page of evil.example whose name later resolves to 127.0.0.1
 * sends {@code Host: evil.example:P} and {@code Origin: http://evil.example:P}; the origin check
 * alone accepted that, since it compares the two. Every route checks the Host.
 */
class HostCheckTest {
    private static StableDiffusionModels models;

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    private static Map<String, String> headers(String host, String origin) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Host", host);
        if (origin != null) h.put("Origin", origin);
        return h;
    }

    private static int upgrade(TestServer s, String path, String host, String origin) throws Exception {
        return RawClient.get(s.server.port(), path, RawClient.upgradeHeaders(host, origin));
    }

    @Test
    void aRebindingPageIsRefusedOnEveryRoute() throws Exception {
        try (TestServer s = TestServer.start(models)) {
            int p = s.server.port();
            String evil = "evil.example:" + p;
            String origin = "http://" + evil;
            for (String path : List.of("/", "/index.html", "/txt2img.html", "/api/settings", "/api/queue", "/nothing")) {
                assertThat(RawClient.get(p, path, headers(evil, origin))).as(path).isEqualTo(421);
                assertThat(RawClient.get(p, path, headers(evil, null))).as(path + " without Origin").isEqualTo(421);
            }
            for (String path : List.of("/ws", "/ws/txt2img", "/api/ws/" + java.util.UUID.randomUUID())) {
                assertThat(upgrade(s, path, evil, origin)).as(path).isEqualTo(421);
            }
            assertThat(s.events.opened).as("no session was made for it").isEmpty();
            // a loopback name on another port is another server's
            assertThat(RawClient.get(p, "/", headers("localhost:" + (p == 1 ? 2 : 1), null))).isEqualTo(421);
            assertThat(RawClient.get(p, "/", headers("localhost", null))).as("port 80 implied").isEqualTo(p == 80 ? 200 : 421);
            assertThat(RawClient.get(p, "/", headers("127.0.0.1.evil.example:" + p, null))).isEqualTo(421);
            assertThat(RawClient.get(p, "/", headers("[::1", null))).as("malformed").isIn(400, 421);
        }
    }

    @Test
    void thisMachinesNamesAndAllowedNamesWork() throws Exception {
        try (TestServer s = new TestServer(models, WebServerOptions.defaults().withAllowedHosts(List.of("studio.lan")))) {
            int p = s.server.port();
            for (String host : List.of("127.0.0.1:" + p, "localhost:" + p, "LOCALHOST:" + p, "localhost.:" + p, "[::1]:" + p,
                    "studio.lan:" + p)) {
                assertThat(RawClient.get(p, "/", headers(host, null))).as(host).isEqualTo(200);
                assertThat(RawClient.get(p, "/api/settings", headers(host, null))).as(host).isEqualTo(200);
                assertThat(upgrade(s, "/ws", host, "http://" + host.toLowerCase(java.util.Locale.ROOT))).as(host).isEqualTo(101);
            }
            // an allowed name without a port may come through a proxy on another port
            assertThat(RawClient.get(p, "/", headers("studio.lan", null))).isEqualTo(200);
        }
    }

    @Test
    void whichHostsEachBindingAnswers() {
        Handler none = new Handler.Abstract() {
            @Override
            public boolean handle(org.eclipse.jetty.server.Request r, org.eclipse.jetty.server.Response s,
                                  org.eclipse.jetty.util.Callback c) {
                return false;
            }
        };
        HostCheck local = new HostCheck("127.0.0.1", List.of("proxy.example:443"), () -> 7860, none);
        assertThat(local.allows("127.0.0.1:7860")).isTrue();
        assertThat(local.allows("192.168.1.20:7860")).as("bound to loopback: other addresses are not this server").isFalse();
        assertThat(local.allows("proxy.example:443")).isTrue();
        assertThat(local.allows("proxy.example:7860")).as("allowed with its port only").isFalse();
        assertThat(local.allows(null)).as("HTTP/1.0 without Host: not a browser").isTrue();
        assertThat(local.allows("localhost:7860:1")).isFalse();
        assertThat(local.allows("localhost:99999")).isFalse();

        HostCheck lan = new HostCheck("192.168.1.20", List.of(), () -> 7860, none);
        assertThat(lan.allows("192.168.1.20:7860")).isTrue();
        assertThat(lan.allows("192.168.1.21:7860")).isFalse();
        assertThat(lan.allows("localhost:7860")).isTrue();

        HostCheck every = new HostCheck("0.0.0.0", List.of(), () -> 7860, none);
        assertThat(every.allows("10.0.0.5:7860")).as("an IP address cannot be rebound").isTrue();
        assertThat(every.allows("[fe80::1]:7860")).isTrue();
        assertThat(every.allows("myhost.lan:7860")).as("a name must be allowed").isFalse();
        assertThat(every.allows("10.0.0.5:7861")).isFalse();

        assertThatThrownBy(() -> WebServerOptions.defaults().withAllowedHosts(List.of("http://x.example/")))
                .hasMessageContaining("--allow-host takes a host name");
        assertThatThrownBy(() -> WebServerOptions.defaults().withAllowedHosts(List.of("x.example:http")))
                .hasMessageContaining("found \"x.example:http\"");
    }
}
