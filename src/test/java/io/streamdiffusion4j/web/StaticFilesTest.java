package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pages come from the jar (or --web-root), and nothing outside that root is ever served. */
class StaticFilesTest {
    private static StableDiffusionModels models;

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    /** A raw HTTP/1.1 request, so the path goes out exactly as written (clients normalise ".."). */
    static String rawGet(int port, String path) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    static int status(String response) {
        return Integer.parseInt(response.substring(9, 12));
    }

    private static final List<String> ESCAPES = List.of(
            "/../pom.xml", "/../../../../etc/passwd", "/%2e%2e/pom.xml", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/..%2fpom.xml", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/web/../../pom.xml", "/./../pom.xml",
            "/..\\pom.xml", "/%5c..%5cpom.xml", "/%c0%ae%c0%ae/etc/passwd", "//etc/passwd", "/index.html%00.txt",
            "/io/streamdiffusion4j/web/WebServer.class", "/../io/streamdiffusion4j/web/WebServer.class",
            "/%2e%2e/classes/io/streamdiffusion4j/web/WebServer.class", "/META-INF/MANIFEST.MF", "/simplelogger.properties",
            "/..;/pom.xml", "/%252e%252e/pom.xml", "/secret.txt", "/link.txt", "/linked-dir/secret.txt");

    @Test
    void thePagesAreServedFromTheJar() throws Exception {
        try (TestServer s = TestServer.start(models)) {
            String index = rawGet(s.server.port(), "/");
            assertThat(status(index)).isEqualTo(200);
            assertThat(index).contains("Content-Type: text/html").contains("<title>streamdiffusion4j").contains("img2img.js")
                    .contains("X-Content-Type-Options: nosniff").contains("Content-Security-Policy: default-src 'self'");
            assertThat(index).doesNotContain("Server: Jetty");
            for (String file : List.of("/img2img.js", "/common.js", "/style.js", "/txt2img.js", "/txt2img.html", "/style.css")) {
                assertThat(status(rawGet(s.server.port(), file))).as(file).isEqualTo(200);
            }
            assertThat(rawGet(s.server.port(), "/img2img.js")).containsPattern("Content-Type: (text|application)/javascript");
            assertThat(status(rawGet(s.server.port(), "/missing.html"))).isEqualTo(404);
        }
    }

    @Test
    void nothingOutsideTheBuiltInRootIsServed() throws Exception {
        try (TestServer s = TestServer.start(models)) {
            for (String path : ESCAPES) assertNotEscaped(s.server.port(), path, null);
        }
    }

    /** --web-root: a symbolic link inside the root that points outside it is not followed either. */
    @Test
    void nothingOutsideAGivenWebRootIsServed(@TempDir Path dir) throws Exception {
        Path root = Files.createDirectories(dir.resolve("public"));
        Files.writeString(root.resolve("index.html"), "<html>the original front end</html>");
        Files.writeString(dir.resolve("secret.txt"), "TOP SECRET");
        Files.createDirectories(dir.resolve("elsewhere"));
        Files.writeString(dir.resolve("elsewhere/secret.txt"), "TOP SECRET");
        Files.createSymbolicLink(root.resolve("link.txt"), dir.resolve("secret.txt"));
        Files.createSymbolicLink(root.resolve("linked-dir"), dir.resolve("elsewhere"));
        try (TestServer s = new TestServer(models, WebServerOptions.defaults().withWebRoot(root))) {
            String index = rawGet(s.server.port(), "/");
            assertThat(status(index)).isEqualTo(200);
            assertThat(index).contains("the original front end").doesNotContain("Content-Security-Policy");
            assertThat(status(rawGet(s.server.port(), "/api/queue"))).as("the API comes first").isEqualTo(200);
            for (String path : ESCAPES) assertNotEscaped(s.server.port(), path, "TOP SECRET");
        }
    }

    private static void assertNotEscaped(int port, String path, String secret) throws Exception {
        String r = rawGet(port, path);
        int code = status(r);
        assertThat(code).as(path + " -> " + r.lines().findFirst().orElse("")).isIn(400, 404);
        assertThat(r).as(path).doesNotContain("<project").doesNotContain("root:x:0").doesNotContain("Main-Class")
                .doesNotContain("cafebabe").doesNotContain("slf4j");
        if (secret != null) assertThat(r).as(path).doesNotContain(secret);
    }
}
