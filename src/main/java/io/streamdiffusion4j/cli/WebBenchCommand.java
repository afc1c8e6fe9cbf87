package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.bench.WebClientBench;
import io.streamdiffusion4j.config.ConfigException;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bench-web}: the web demo's frames/s and latency as one client sees them, scripted. */
@Command(name = "bench-web", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Connects to a running `streamdiffusion4j serve` like the camera page does (JPEG frames of the",
                "server's size, at most 2 unanswered, at most max_fps) and measures frames/s received and the latency",
                "from sending a frame to receiving its generated image. Prints a Markdown row; --out DIR also writes",
                "web-bench.json and web-bench.md."})
final class WebBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--url", defaultValue = "ws://127.0.0.1:7860/ws", paramLabel = "WS_URL",
            description = "The img2img session's WebSocket (default ${DEFAULT-VALUE}; add ?token=... when serve has an access token).")
    String url;

    @Option(names = "--frames", defaultValue = "100", paramLabel = "N", description = "Generated frames measured (default ${DEFAULT-VALUE}).")
    int frames;

    @Option(names = "--warmup", defaultValue = "10", paramLabel = "N",
            description = "Generated frames received before measuring (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "Longest the run may take (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--out", paramLabel = "DIR", description = "Write web-bench.json and web-bench.md there.")
    Path out;

    @Override
    public Integer call() throws IOException, InterruptedException, ConfigException {
        WebClientBench.Settings settings;
        try {
            if (timeoutSeconds < 1) throw new IllegalArgumentException("--timeout must be >= 1 second, found " + timeoutSeconds);
            settings = new WebClientBench.Settings(new URI(url), warmup, frames, Duration.ofSeconds(timeoutSeconds));
        } catch (URISyntaxException e) {
            throw new ConfigException("--url is not a URL: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        var err = spec.commandLine().getErr();
        WebClientBench.Result r = new WebClientBench(settings, m -> err.println("bench-web: " + m)).run();
        String md = "streamdiffusion4j " + String.join(" ", spec.commandLine().getParseResult().originalArgs())
                + "\n\n" + WebClientBench.markdown(r);
        spec.commandLine().getOut().print(md);
        spec.commandLine().getOut().flush();
        if (out != null) {
            Files.createDirectories(out);
            Files.writeString(out.resolve("web-bench.json"), WebClientBench.json(r));
            Files.writeString(out.resolve("web-bench.md"), md);
            err.println("bench-web: wrote " + out.resolve("web-bench.json") + " and " + out.resolve("web-bench.md"));
        }
        return 0;
    }
}
