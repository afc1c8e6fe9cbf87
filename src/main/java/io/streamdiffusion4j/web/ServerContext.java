package io.streamdiffusion4j.web;

import io.streamdiffusion4j.image.ImageCodec;
import java.util.concurrent.ScheduledExecutorService;

/** What every session handler needs from the server. */
record ServerContext(
        WebServerOptions options,
        ServerState state,
        SessionRegistry registry,
        SessionEvents events,
        ScheduledExecutorService timers,
        ImageCodec codec,
        ServerCounters counters,
        ServerMetrics metrics) {

    /** The sessions' factory; the upgrade and API handlers refuse requests before the models are loaded. */
    StreamFactory factory() {
        return state.factory();
    }
}
