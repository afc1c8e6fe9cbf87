package io.streamdiffusion4j.web;

import io.streamdiffusion4j.image.ImageCodec;
import java.util.concurrent.ScheduledExecutorService;

/** What every session handler needs from the server. */
record ServerContext(
        WebServerOptions options,
        StreamFactory factory,
        SessionRegistry registry,
        SessionEvents events,
        ScheduledExecutorService timers,
        ImageCodec codec,
        ServerCounters counters) {}
