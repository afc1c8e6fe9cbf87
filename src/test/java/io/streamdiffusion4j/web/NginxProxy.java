package io.streamdiffusion4j.web;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * nginx on 127.0.0.1 in front of two instances, with the repository's configuration
 * (deploy/nginx/streamdiffusion4j.conf.template, its placeholders filled in as envsubst would),
 * run in the foreground under its own prefix folder: no system service. The test's own main
 * configuration around it logs, per request, which instances were tried and what each answered,
 * and adds that to every answer as {@code X-Upstream} (a test aid; the deployed configuration
 * does not tell clients its instances' addresses).
 */
final class NginxProxy implements AutoCloseable {
    static final Path TEMPLATE = Path.of("deploy", "nginx", "streamdiffusion4j.conf.template");

    final int port;
    private final Path dir;
    private final Process process;

    private NginxProxy(int port, Path dir, Process process) {
        this.port = port;
        this.dir = dir;
        this.process = process;
    }

    /** The nginx binary; fails (not skips) with how to get it, as CI installs it (.ci/run). */
    static Path binary() {
        for (String d : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/usr/local/sbin").split(":")) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, "nginx");
            if (Files.isExecutable(p)) return p;
        }
        throw new AssertionError("this test needs nginx, found neither on PATH nor in /usr/sbin: install the Debian package"
                + " nginx (apt-get install nginx; .ci/run does) and run the test again");
    }

    /** A free TCP port on 127.0.0.1 (free when asked: nginx binds it soon after). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The repository's template with the placeholders filled in. */
    static String configuration(int listenPort, int instance1, int instance2) throws IOException {
        String t = Files.readString(TEMPLATE);
        for (String placeholder : List.of("${SD4J_LISTEN}", "${SD4J_INSTANCE_1}", "${SD4J_INSTANCE_2}")) {
            if (!t.contains(placeholder)) throw new AssertionError(TEMPLATE + " lost its placeholder " + placeholder);
        }
        return t.replace("${SD4J_LISTEN}", "127.0.0.1:" + listenPort)
                .replace("${SD4J_INSTANCE_1}", "127.0.0.1:" + instance1)
                .replace("${SD4J_INSTANCE_2}", "127.0.0.1:" + instance2);
    }

    /** Starts nginx on {@code port} in front of the two instances' ports; returns once it accepts connections. */
    static NginxProxy start(Path dir, int port, int instance1, int instance2) throws Exception {
        Path nginx = binary();
        // nginx started as root runs its workers as nobody: they must reach the folder
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(dir.resolve("streamdiffusion4j.conf"), configuration(port, instance1, instance2));
        Files.createDirectories(dir.resolve("tmp"));
        Path main = dir.resolve("nginx.conf");
        Files.writeString(main, """
                daemon off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log info;
                events { worker_connections 256; }
                http {
                    client_body_temp_path %1$s/tmp/body;
                    proxy_temp_path %1$s/tmp/proxy;
                    fastcgi_temp_path %1$s/tmp/fastcgi;
                    uwsgi_temp_path %1$s/tmp/uwsgi;
                    scgi_temp_path %1$s/tmp/scgi;
                    log_format sd4j '$request_method $uri $status upstream=[$upstream_addr] answers=[$upstream_status]';
                    access_log %1$s/access.log sd4j;
                    add_header X-Upstream $upstream_addr always;
                    include %1$s/streamdiffusion4j.conf;
                }
                """.formatted(dir.toAbsolutePath()));
        Process p = new ProcessBuilder(nginx.toString(), "-p", dir.toAbsolutePath().toString(), "-c", main.toAbsolutePath().toString(),
                "-e", dir.resolve("error.log").toAbsolutePath().toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
        NginxProxy proxy = new NginxProxy(port, dir, p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            if (!p.isAlive()) throw new AssertionError("nginx stopped: " + proxy.logs());
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return proxy;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    proxy.close();
                    throw new AssertionError("nginx did not listen on " + port + " within 30 s: " + proxy.logs());
                }
                Thread.sleep(50);
            }
        }
    }

    /** One line per request that has ended (a WebSocket's or a stream's when it closed). */
    List<String> accessLog() throws IOException {
        Path log = dir.resolve("access.log");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    /** What nginx said, for failure messages. */
    String logs() throws IOException {
        StringBuilder b = new StringBuilder();
        for (String name : List.of("nginx.out", "error.log")) {
            Path f = dir.resolve(name);
            if (Files.exists(f)) b.append("\n--- ").append(name).append(" ---\n").append(Files.readString(f));
        }
        return b.toString();
    }

    @Override
    public void close() throws IOException {
        process.destroy(); // SIGTERM: nginx's fast shutdown
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
