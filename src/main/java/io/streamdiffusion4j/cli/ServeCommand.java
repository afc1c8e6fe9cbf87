package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.batching.CrossSessionBatching;
import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.Mode;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.Warmup;
import io.streamdiffusion4j.web.SessionEvents;
import io.streamdiffusion4j.web.StreamFactory;
import io.streamdiffusion4j.web.StrengthPresets;
import io.streamdiffusion4j.web.WebServer;
import io.streamdiffusion4j.web.WebServerOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code serve}: the web demo, the camera restyled in the browser in real time, plus a txt2img page. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serves the web demo: open the printed address, press Start, and the camera (or a shared screen)",
                "comes back restyled in real time; /txt2img.html draws as you type. Each browser tab is its own session",
                "with its own pipeline; the models are loaded once. The original StreamDiffusion realtime-img2img demo's",
                "API (/api/settings, /api/queue, /api/ws/{user_id}, /api/stream/{user_id}) is served too, and for operators",
                "/healthz, /readyz and /metrics (Prometheus). SIGTERM drains: no new sessions, open ones finish their",
                "frames and are told to reconnect, then the process exits (within --drain-timeout).",
                "The run configuration (--config and the overrides) gives the size and every session's starting settings."})
final class ServeCommand implements Callable<Integer> {
    static final String DEFAULT_PROMPT = "a portrait in the style of an oil painting, thick brush strokes, vivid colours";
    private static final int[] TXT2IMG_STEPS_AT_50 = {0, 16, 32, 45}; // the original txt2img demo's
    /** Exit code when sessions did not finish within --drain-timeout and the process stopped without them. */
    static final int EXIT_DRAIN_TIMEOUT = 3;
    /** A longer gather window would hold frames back longer than a frame takes: batching would only add latency. */
    static final int MAX_GATHER_WINDOW_MS = 1000;

    @Spec
    CommandSpec spec;

    @Mixin
    RunOptions options;

    @Mixin
    WarmupOption warmup;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for every interface)")
    String host;

    @Option(names = "--port", defaultValue = "7860", description = "TCP port (default: ${DEFAULT-VALUE}; 0 picks a free one)")
    int port;

    @Option(names = "--max-sessions", paramLabel = "N", defaultValue = "4",
            description = "sessions (browser tabs) at once; more are told the server is full (default: ${DEFAULT-VALUE})")
    int maxSessions;

    @Option(names = "--session-timeout", paramLabel = "SECONDS", defaultValue = "0",
            description = "end sessions after this long (default: ${DEFAULT-VALUE}, no limit)")
    long sessionTimeout;

    @Option(names = "--idle-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = {"end a session after this long without a frame or a settings message from its page,",
                    "freeing its place (default: ${DEFAULT-VALUE}; 0 for no limit)"})
    long idleTimeout;

    @Option(names = "--max-fps", paramLabel = "N", defaultValue = "30",
            description = "input frames per second per session; faster frames are dropped (default: ${DEFAULT-VALUE})")
    double maxFps;

    @Option(names = "--max-message-size", paramLabel = "BYTES", defaultValue = "4194304",
            description = "largest WebSocket message; a larger one closes the session (default: ${DEFAULT-VALUE})")
    int maxMessageBytes;

    @Option(names = ImageSizeLimit.OPTION, paramLabel = "PIXELS", defaultValue = "" + ImageSizeLimit.DEFAULT_FRAME_SIDE,
            description = "largest input frame width or height (default: ${DEFAULT-VALUE})")
    int maxFrameSide;

    @Option(names = "--access-token", paramLabel = "TOKEN", defaultValue = "${env:STREAMDIFFUSION4J_ACCESS_TOKEN}",
            description = {"require this token (at least 8 characters) on every request: open /?token=TOKEN once.",
                    "Default: $STREAMDIFFUSION4J_ACCESS_TOKEN; with a --host other than this machine and no token,",
                    "one is generated and printed."})
    String accessToken;

    @Option(names = "--no-access-token", description = "serve a --host other than this machine without a token")
    boolean noAccessToken;

    @Option(names = "--allow-origin", paramLabel = "ORIGIN",
            description = "also accept WebSockets from pages of this origin, e.g. https://example.org (repeatable)")
    List<String> allowOrigins = new ArrayList<>();

    @Option(names = "--allow-host", paramLabel = "NAME[:PORT]",
            description = {"also answer requests for this host name, e.g. studio.lan (repeatable). Requests naming any",
                    "other host are refused (421), against DNS rebinding; localhost, 127.0.0.1, [::1] and the --host",
                    "address always work."})
    List<String> allowHosts = new ArrayList<>();

    @Option(names = "--web-root", paramLabel = "DIR",
            description = "serve this folder instead of the built-in page (e.g. the original demo's frontend/public)")
    Path webRoot;

    @Option(names = "--drain-timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = {"on SIGTERM (or Ctrl-C), how long open sessions may take to finish the frames in their",
                    "pipelines before the process exits without them, with code " + EXIT_DRAIN_TIMEOUT
                    + " (default: ${DEFAULT-VALUE}; keep it under",
                    "the process manager's own grace period, 30 s on Kubernetes)"})
    long drainTimeout;

    @Option(names = "--gather-window-ms", paramLabel = "MS", defaultValue = "0",
            description = {"cross-session batching: stack the UNet, VAE encoder and VAE decoder calls of sessions of the",
                    "same size into one call each, waiting at most this long for the other sessions' calls (default:",
                    "${DEFAULT-VALUE}, off; helps on a GPU, see docs/DEPLOY.md). A session alone never waits."})
    double gatherWindowMs;

    @Option(names = "--txt2img-t-index-list", split = ",", paramLabel = "N",
            description = "denoising steps of txt2img sessions (default: 0,16,32,45 at 50 inference steps, scaled)")
    int[] txt2imgTIndexList;

    /** The server, the stream that owns the shared models, and the batching models on them (null when off). */
    record Running(WebServer server, StreamDiffusion modelOwner, CrossSessionBatching batching, String token) implements AutoCloseable {
        /**
         * What SIGTERM does: drains the server (see {@link WebServer#drain}), then stops it.
         *
         * @return false when sessions were still finishing at the timeout: the server is left
         *         running, as stopping it would close models under a model call
         */
        boolean drainAndStop(Duration timeout, PrintWriter err) throws IOException, InterruptedException {
            log(err, "serve: draining: /readyz answers 503, new sessions are refused, open sessions finish their frames"
                    + " and are told to reconnect (at most " + timeout.toSeconds() + " s)");
            if (!server.drain(timeout)) {
                log(err, "serve: " + server.closingPipelines() + " session(s) still busy after " + timeout.toSeconds()
                        + " s (--drain-timeout)");
                return false;
            }
            server.close();
            return true;
        }


        @Override
        public void close() throws IOException {
            try {
                server.close();
            } finally {
                try {
                    if (batching != null) batching.close();
                } finally {
                    modelOwner.close();
                }
            }
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        try (Running running = start(err)) {
            String address = running.server().uri() + (running.token() != null && !running.token().equals(accessToken)
                    ? "?token=" + running.token() : "");
            err.println("serve: open " + address + "   (txt2img: " + running.server().uri() + "txt2img.html; Ctrl-C stops)");
            err.flush();
            // SIGTERM or Ctrl-C drains the server (each session finishes its frames) before the JVM shuts down
            Duration drain = Duration.ofSeconds(drainTimeout);
            try (StopSignals signals = StopSignals.install(() -> {
                try {
                    if (!running.drainAndStop(drain, err)) {
                        // exiting normally would close the models under a model call (and ONNX Runtime's
                        // shutdown hook would crash the process): stop at once, within the bound promised
                        log(err, "serve: exiting without them");
                        Runtime.getRuntime().halt(EXIT_DRAIN_TIMEOUT);
                    }
                } catch (IOException e) {
                    err.println("error while stopping: " + Errors.describe(e));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                err.flush();
            })) {
                running.server().join();
            }
        }
        err.println("serve: stopped");
        return 0;
    }

    /** Loads the models once, starts the server, and returns it running. */
    Running start(PrintWriter err) throws Exception {
        if (options.prompt == null && options.config == null && options.promptBlend.isEmpty()) {
            options.extra.put("prompt", DEFAULT_PROMPT);
        }
        RunConfig rc = options.resolve(Mode.IMG2IMG.key());
        options.warnings.forEach(w -> err.println("warning: " + w));
        if (rc.frameBufferSize() != 1) {
            throw new ConfigException("serve streams frame by frame: frame_buffer_size must be 1, found " + rc.frameBufferSize());
        }
        if (options.staticShapes) {
            // sessions change strength (the number of steps) and guidance live, which fixed shapes cannot follow
            throw new ConfigException("serve changes t_index_list and guidance live: --static-shapes cannot be used with it");
        }
        int steps = rc.numInferenceSteps();
        int[] txt2img = txt2imgTIndexList != null ? txt2imgTIndexList
                : StrengthPresets.scale(TXT2IMG_STEPS_AT_50, steps).stream().mapToInt(Integer::intValue).toArray();
        String token = token(err);
        WebServerOptions web;
        try {
            web = new WebServerOptions(host, port, maxSessions, Duration.ofSeconds(sessionTimeout), Duration.ofSeconds(idleTimeout),
                    maxMessageBytes, maxFrameSide, maxFps, token, allowOrigins, allowHosts, webRoot);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        if (!(gatherWindowMs >= 0 && gatherWindowMs <= MAX_GATHER_WINDOW_MS)) {
            throw new ConfigException("--gather-window-ms must be in [0, " + MAX_GATHER_WINDOW_MS + "], found " + gatherWindowMs);
        }
        if (drainTimeout < 1 || drainTimeout > 3600) {
            throw new ConfigException("--drain-timeout must be in [1, 3600] seconds, found " + drainTimeout);
        }
        // listening before the models load: /healthz answers (a liveness probe must not kill a server
        // that is loading), /readyz and sessions answer 503 until the models are warm
        WebServer server = new WebServer(web, new SessionLog(err));
        server.start();
        try {
            return load(rc, steps, txt2img, server, token, err);
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
    }

    private Running load(RunConfig rc, int steps, int[] txt2img, WebServer server, String token, PrintWriter err) throws Exception {
        StreamDiffusion owner = Cli.builder(rc, options).mode(Mode.IMG2IMG).build();
        CrossSessionBatching batching = null;
        try {
            StableDiffusionModels models = owner.models();
            if (gatherWindowMs > 0 && maxSessions > 1) {
                // UNet, VAE encoder and decoder in one gather group: no gather waits for a session that waits in
                // another, so sessions a stage apart do not stall each other (see GatherGroup)
                batching = CrossSessionBatching.of(models, Duration.ofNanos(Math.round(gatherWindowMs * 1e6)));
                models = batching.models();
                err.printf("serve: cross-session batching: the sessions' UNet, VAE encoder and decoder calls are stacked,"
                        + " gathered for at most %s ms%n", gatherWindowMs);
            }
            StreamFactory factory;
            try {
                factory = new StreamFactory(models, rc.streamConfig(), steps, txt2img, rc.prompt(), rc.negativePrompt(),
                        rc.guidanceScale(), rc.delta(), rc.seed(), warmup.enabled ? Warmup.RUNS : 0)
                        .startingBlends(rc.promptBlend(), rc.seedBlend(), rc.promptTransitionFrames());
                if (owner.controlNets() != null) {
                    factory.controlNets(owner.controlNets().nets(), owner.controlNetScales(), owner.controlPreprocessor());
                }
                if (owner.hasIpAdapter()) {
                    // the adapter's UNet and image encoder are loaded once (the owner's); the style image and scale are per session
                    String style = rc.ipAdapter().styleImage();
                    factory.ipAdapter(owner.imageEncoder(), owner.ipAdapterScale(),
                            style == null ? null : ImageFiles.read(Path.of(style), ImageSizeLimit.FILES));
                    err.printf("serve: IP-Adapter %s at scale %s; sessions start %s%n", rc.ipAdapter().adapter(),
                            owner.ipAdapterScale(), style == null ? "without a style image (the page sends one)"
                                    : "with the style image " + style);
                }
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage());
            }
            Warmup.Report warmed = factory.warmUpDefaults();
            if (warmed.ran()) {
                err.printf("serve: warmed up the models for %dx%d img2img and txt2img (%d model calls) in %.2f s%n",
                        factory.width(), factory.height(), warmed.calls(), warmed.seconds());
            }
            server.ready(factory);
            return new Running(server, owner, batching, token);
        } catch (Exception | Error e) {
            if (batching != null) batching.close();
            owner.close();
            throw e;
        }
    }

    /** One line, whole, whatever other threads write. */
    static void log(PrintWriter err, String line) {
        synchronized (err) {
            err.println(line);
            err.flush();
        }
    }

    private String token(PrintWriter err) throws ConfigException {
        boolean local = WebServerOptions.defaults().withHost(host).loopbackOnly();
        String token = accessToken == null || accessToken.isBlank() ? null : accessToken;
        if (noAccessToken) {
            if (token != null) throw new ConfigException("--access-token and --no-access-token contradict each other");
            if (!local) err.println("warning: serving " + host + " without an access token: anyone who can reach it can use it");
            return null;
        }
        if (token == null && !local) {
            byte[] b = new byte[16];
            new SecureRandom().nextBytes(b);
            token = HexFormat.of().formatHex(b);
        }
        return token;
    }

    /** One line per session opened and ended. */
    private static final class SessionLog implements SessionEvents {
        private final PrintWriter err;
        private final Map<String, AtomicLong> frames = new ConcurrentHashMap<>();

        SessionLog(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void opened(String session, String kind) {
            frames.put(session, new AtomicLong());
            log("session " + shortId(session) + " (" + kind + ") started");
        }

        @Override
        public void frameSent(String session, long seq, long source, byte[] jpeg) {
            AtomicLong n = frames.get(session);
            if (n != null) n.incrementAndGet();
        }

        @Override
        public void ended(String session, String reason) {
            AtomicLong n = frames.remove(session);
            log("session " + shortId(session) + " ended (" + reason + ") after " + (n == null ? 0 : n.get()) + " images");
        }

        private void log(String line) {
            ServeCommand.log(err, "serve: " + line);
        }

        private static String shortId(String id) {
            return id.length() > 8 ? id.substring(0, 8) : id;
        }
    }
}
