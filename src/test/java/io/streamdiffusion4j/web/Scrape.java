package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** One read of {@code /metrics}: the Prometheus text format, parsed just enough to read a sample's value. */
record Scrape(String text) {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static Scrape of(URI metrics) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
        return new Scrape(r.body());
    }

    /**
     * The value of the sample named exactly {@code series} (name and labels as written, e.g.
     * {@code sd4j_frames_dropped_total{reason="replaced"}}); fails when there is none.
     */
    double value(String series) {
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1).trim());
        }
        throw new AssertionError("no sample " + series + " in\n" + text);
    }

    /** {@link #value}, or {@code absent} where there is no such sample (a counter nothing has touched yet). */
    double valueOr(String series, double absent) {
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1).trim());
        }
        return absent;
    }
}
