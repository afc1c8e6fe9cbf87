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
 *   /healthz, /readyz      probes: alive; ready for sessions (200) or loading / draining (503)
 *   /metrics               the meters in the Prometheus text format
 * </pre>
 * Every session gets its own pipeline on the shared models; the limits of
 * {@link WebServerOptions} apply to all of them.
 *
 * <p>A server may start listening before its models are loaded ({@link #WebServer(WebServerOptions,
 * SessionEvents)}, then {@link #ready}): the probes and the page answer, sessions and the API
 * are refused with 503. {@link #drain} stops it the way a process manager expects on SIGTERM.
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
    private final ServerState state = new ServerState();
    private final ServerMetrics metrics;
    private final ServerCounters counters;

    /** A server whose models are loaded: ready for sessions as soon as it starts. */
    public WebServer(WebServerOptions options, StreamFactory factory, SessionEvents events) {
        this(options, events);
        ready(factory);
    }

    /** A server whose models are still to be loaded: it answers probes once started, and sessions after {@link #ready}. */
    public WebServer(WebServerOptions options, SessionEvents events) {
        this.options = options;
        this.registry = new SessionRegistry(options.maxSessions(), state);
        this.metrics = new ServerMetrics(registry);
        this.counters = new ServerCounters(metrics.registry());
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("sd4j-web-timer").unstarted(r));
        ServerContext ctx = new ServerContext(options, state, registry, events, timers, ImageCodec.best(), counters, metrics);
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
        Handler.Sequence content = new Handler.Sequence(new MetricsEndpoint(metrics), new CompatHandler(ctx, users), staticFiles());
        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, context, container -> {
            container.setMaxBinaryMessageSize(options.maxMessageBytes());
            container.setMaxTextMessageSize(MAX_TEXT_BYTES);
            // a session that sends nothing (stopped camera) still gets status every second; this only ends dead connections
            container.setIdleTimeout(Duration.ofMinutes(2));
            container.addMapping("/ws", guarded(origins, state, (rq, rs, cb) -> new Img2ImgSocket(ctx)));
            container.addMapping("/ws/txt2img", guarded(origins, state, (rq, rs, cb) -> new Txt2ImgSocket(ctx)));
            container.addMapping("/api/ws/*", guarded(origins, state, (rq, rs, cb) -> compatSocket(ctx, users, rq, rs, cb)));
        });
        ws.setHandler(content);
        context.setHandler(ws);
        Handler top = new SecurityHeaders(context, options.webRoot() == null);
        if (options.accessToken() != null) top = new AccessGuard(options.accessToken(), top);
        // probes carry no token; they tell nothing about the server's use
        top = new HealthEndpoints(state, top);
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

    /**
     * Refuses upgrades from other web sites' pages (403), and upgrades while the server takes no
     * sessions (loading its models, or draining) with a plain 503, before a session exists: a
     * reverse proxy in front of several servers ({@code proxy_next_upstream http_503}) then sends
     * the page's upgrade to another one, which it could not do after a 101. A session that got
     * past this check just before the drain began is refused in its page's own protocol instead.
     */
    private static WebSocketCreator guarded(OriginCheck origins, ServerState state, WebSocketCreator creator) {
        return (rq, rs, cb) -> {
            if (!origins.allows(rq)) {
                Response.writeError(rq, rs, cb, HttpStatus.FORBIDDEN_403, "WebSocket origin not allowed");
                return null;
            }
            if (!state.acceptsSessions()) {
                Response.writeError(rq, rs, cb, HttpStatus.SERVICE_UNAVAILABLE_503, state.refusal());
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

    /** The models are loaded and warmed up: sessions may start, and {@code /readyz} says so. */
    public void ready(StreamFactory factory) {
        factory.batching().ifPresent(b -> b.observe(metrics.gathering().unet()));
        factory.vaeBatching().ifPresent(v -> v.observe(metrics.gathering().encodes(), metrics.gathering().decodes()));
        state.ready(factory);
    }

    /** Whether sessions can start: loaded and not draining (what {@code /readyz} answers). */
    public boolean isReady() {
        return state.phase() == ServerState.Phase.READY;
    }

    /**
     * Drains, as on SIGTERM: {@code /readyz} turns 503 and new sessions and /api/* calls are
     * refused with a plain 503 (which a reverse proxy retries on another server); every open
     * session finishes the frames in its pipeline, sends their images, and then tells its page
     * to reconnect (a server that is up will take it) and closes. Returns
     * when every session's pipeline is closed, or at the timeout; the server still listens (for
     * the probes and the refusals) until {@link #close}.
     *
     * @return whether every session finished within the timeout
     */
    public boolean drain(Duration timeout) throws InterruptedException {
        state.drain();
        registry.endAll(Ending.draining());
        return registry.awaitClosed(timeout);
    }

    /** Pipelines still closing (after a {@link #drain} that timed out: the sessions that did not finish). */
    public int closingPipelines() {
        return registry.closing();
    }

    /** The meters {@code /metrics} answers with. */
    public ServerMetrics metrics() {
        return metrics;
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
