package io.streamdiffusion4j.web;

import io.streamdiffusion4j.image.ImageCodec;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ResourceHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.resource.Resource;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.eclipse.jetty.websocket.server.WebSocketCreator;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * The web demo's server (Jetty 12 core, no servlets):
 * <pre>
 *   /                      the page (static files from the jar's web/, or --web-root)
 *   /txt2img.html          the txt2img page
 *   /ws                    img2img session (this server's protocol)
 *   /ws/txt2img            txt2img session
 *   /api/settings, /api/queue, /api/ws/{user_id}, /api/stream/{user_id}
 *                          the original realtime-img2img demo's API
 * </pre>
 * Every session gets its own pipeline on the shared models; the limits of
 * {@link WebServerOptions} apply to all of them.
 */
public final class WebServer implements AutoCloseable {
    /** Largest text message: settings are a few hundred bytes. */
    static final int MAX_TEXT_BYTES = 64 * 1024;
    /** How long a compat user registered at its upgrade may take to open its WebSocket. */
    static final Duration UPGRADE_GRACE = Duration.ofSeconds(30);

    private final WebServerOptions options;
    private final Server server;
    private final ServerConnector connector;
    private final SessionRegistry registry;
    private final ScheduledExecutorService timers;
    private final ServerCounters counters = new ServerCounters();

    public WebServer(WebServerOptions options, StreamFactory factory, SessionEvents events) {
        this.options = options;
        this.registry = new SessionRegistry(options.maxSessions());
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("sd4j-web-timer").unstarted(r));
        ServerContext ctx = new ServerContext(options, factory, registry, events, timers, ImageCodec.best(), counters);
        CompatUsers users = new CompatUsers();
        OriginCheck origins = new OriginCheck(options.allowedOrigins());

        server = new Server();
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(options.host());
        connector.setPort(options.port());
        server.addConnector(connector);

        ContextHandler context = new ContextHandler("/");
        Handler.Sequence content = new Handler.Sequence(new CompatHandler(ctx, users), staticFiles());
        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, context, container -> {
            container.setMaxBinaryMessageSize(options.maxMessageBytes());
            container.setMaxTextMessageSize(MAX_TEXT_BYTES);
            // a session that sends nothing (stopped camera) still gets status every second; this only ends dead connections
            container.setIdleTimeout(Duration.ofMinutes(2));
            container.addMapping("/ws", guarded(origins, (rq, rs, cb) -> new Img2ImgSocket(ctx)));
            container.addMapping("/ws/txt2img", guarded(origins, (rq, rs, cb) -> new Txt2ImgSocket(ctx)));
            container.addMapping("/api/ws/*", guarded(origins, (rq, rs, cb) -> compatSocket(ctx, users, rq, rs, cb)));
        });
        ws.setHandler(content);
        context.setHandler(ws);
        Handler top = new SecurityHeaders(context, options.webRoot() == null);
        if (options.accessToken() != null) top = new AccessGuard(options.accessToken(), top);
        // outermost: a request for another host name is refused before it reaches anything
        server.setHandler(new HostCheck(options.host(), options.allowedHosts(), connector::getLocalPort, top));
    }

    private Handler staticFiles() {
        ResourceHandler files = new ResourceHandler();
        Resource root;
        if (options.webRoot() != null) {
            if (!Files.isDirectory(options.webRoot())) {
                throw new IllegalArgumentException("web root is not a folder: " + options.webRoot());
            }
            root = ResourceFactory.of(server).newResource(options.webRoot().toAbsolutePath());
        } else {
            root = ResourceFactory.of(server).newClassLoaderResource("web/");
            if (root == null) throw new IllegalStateException("the web page is missing from the classpath (web/)");
        }
        files.setBaseResource(root);
        files.setDirAllowed(false);
        files.setWelcomeFiles("index.html");
        files.setCacheControl("no-cache");
        return files;
    }

    /** Refuses upgrades from other web sites' pages (403) before a session exists. */
    private static WebSocketCreator guarded(OriginCheck origins, WebSocketCreator creator) {
        return (rq, rs, cb) -> {
            if (!origins.allows(rq)) {
                Response.writeError(rq, rs, cb, HttpStatus.FORBIDDEN_403, "WebSocket origin not allowed");
                return null;
            }
            return creator.createWebSocket(rq, rs, cb);
        };
    }

    private static Object compatSocket(ServerContext ctx, CompatUsers users, Request rq, Response rs, Callback cb) {
        String path = Request.getPathInContext(rq);
        Optional<UUID> id = CompatUsers.parseId(path.substring(path.lastIndexOf('/') + 1));
        if (id.isEmpty() || !path.equals("/api/ws/" + id.get())) {
            Response.writeError(rq, rs, cb, HttpStatus.NOT_FOUND_404, "the path must be /api/ws/{user_id} with a UUID");
            return null;
        }
        CompatSocket socket = new CompatSocket(ctx, users, id.get());
        // registered before the handshake completes, as the original does, so that the page's
        // stream request, sent as soon as it sees the socket open, finds its user
        if (!users.add(id.get(), socket)) {
            Response.writeError(rq, rs, cb, HttpStatus.CONFLICT_409, "this user id is already connected");
            return null;
        }
        ctx.timers().schedule(socket::forgetIfNeverOpened, UPGRADE_GRACE.toSeconds(), TimeUnit.SECONDS);
        return socket;
    }

    public void start() throws Exception {
        server.start();
    }

    /** The port bound (the real one when the options asked for 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** The page's address. */
    public URI uri() {
        String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        if (host.equals("0.0.0.0")) host = "127.0.0.1";
        return URI.create("http://" + host + ":" + port() + "/");
    }

    public int activeSessions() {
        return registry.active();
    }

    /** What the server refused or dropped to protect itself, across all sessions since it started. */
    public ServerCounters counters() {
        return counters;
    }

    /** Blocks until the server stops. */
    public void join() throws InterruptedException {
        server.join();
    }

    /**
     * Stops: every session is told the server is shutting down, the server stops listening, and
     * every pipeline is closed (their model calls finish) before this returns.
     */
    @Override
    public void close() throws IOException {
        try {
            registry.endAll(Ending.shutdown());
            server.stop();
            if (!registry.awaitClosed(Duration.ofSeconds(60))) {
                throw new IOException("some sessions' pipelines did not stop within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while stopping the web server", e);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("stopping the web server failed: " + e.getMessage(), e);
        } finally {
            timers.shutdownNow();
        }
    }

    /** Headers on every answer: no MIME sniffing, no referrer, and for the built-in page a strict content policy. */
    private static final class SecurityHeaders extends Handler.Wrapper {
        private final boolean builtInPage;

        SecurityHeaders(Handler next, boolean builtInPage) {
            super(next);
            this.builtInPage = builtInPage;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            response.getHeaders().put("X-Content-Type-Options", "nosniff");
            response.getHeaders().put("Referrer-Policy", "no-referrer");
            if (builtInPage) {
                // the built-in page loads nothing from elsewhere; another front end (--web-root) may
                response.getHeaders().put("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:;"
                        + " media-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'");
            }
            return super.handle(request, response, callback);
        }
    }
}
