package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: what an operator's tools read from a running server. {@code /metrics} in the
 * Prometheus text format with the sessions' frame totals as they stream; {@code /healthz} while
 * the process serves at all; {@code /readyz} only once the models are ready and not while
 * draining; the probes answer without the access token, the metrics only with it.
 */
class OperatorEndpointsTest {
    private static StableDiffusionModels models;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void load() throws Exception {
        models = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        models.close();
    }

    private static HttpResponse<String> get(java.net.URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theFrameCountersRiseWhileASessionStreams() throws Exception {
        try (TestServer s = TestServer.start(models)) {
            Scrape before = Scrape.of(s.http("/metrics"));
            assertThat(before.value("sd4j_sessions")).isZero();
            assertThat(before.value("sd4j_sessions_max")).isEqualTo(4);
            assertThat(before.value("sd4j_frames_out_total")).isZero();
            try (WsClient c = WsClient.connect(s.ws("/ws"))) {
                c.nextOfType("hello");
                int frames = 3;
                for (int i = 0; i < frames; i++) {
                    c.send(TestServer.jpeg(20 * i, 80, 140));
                    c.nextFrame();
                }
                c.send("{not json");
                c.nextOfType("error");
                Scrape during = Scrape.of(s.http("/metrics"));
                assertThat(during.value("sd4j_sessions")).isEqualTo(1);
                assertThat(during.value("sd4j_sessions_opened_total{kind=\"img2img\"}")).isEqualTo(1);
                // every image the page got was counted before it was sent
                assertThat(during.value("sd4j_frames_out_total")).isGreaterThanOrEqualTo(frames);
                assertThat(during.value("sd4j_frames_in_total")).isGreaterThanOrEqualTo(during.value("sd4j_frames_out_total"));
                // each stage timed once per frame that ran the models, by the pipeline's own clocks
                for (String stage : FrameMetrics.STAGES) {
                    assertThat(during.value("sd4j_stage_seconds_count{stage=\"" + stage + "\"}")).as(stage)
                            .isGreaterThanOrEqualTo(frames);
                }
                assertThat(during.value("sd4j_stage_seconds_bucket{stage=\"unet\",le=\"+Inf\"}"))
                        .isEqualTo(during.value("sd4j_stage_seconds_count{stage=\"unet\"}"));
                assertThat(during.value("sd4j_frame_latency_seconds_count")).isEqualTo(during.value("sd4j_frames_out_total"));
                // the denoising batch: one UNet call per frame, with the rows the stream's shape has
                int rows;
                try (var reference = TestServer.reference(models)) {
                    rows = io.streamdiffusion4j.pipeline.Warmup.Shape.of(reference).unetRows();
                }
                assertThat(during.value("sd4j_unet_calls_total")).isEqualTo(during.value("sd4j_stage_seconds_count{stage=\"unet\"}"));
                assertThat(during.value("sd4j_unet_rows_total")).isEqualTo(rows * during.value("sd4j_unet_calls_total"));
                assertThat(during.value("sd4j_errors_total{kind=\"bad_json\"}")).isEqualTo(1);
                assertThat(during.value("sd4j_protocol_errors_total")).isEqualTo(1);
                assertThat(during.value("process_resident_memory_bytes")).isGreaterThan(0);
                assertThat(during.text()).contains("jvm_memory_used_bytes{area=\"heap\"");

                c.send(TestServer.jpeg(200, 10, 10));
                c.nextFrame();
                assertThat(Scrape.of(s.http("/metrics")).value("sd4j_frames_out_total"))
                        .as("the counter rises with the session's frames").isGreaterThan(during.value("sd4j_frames_out_total"));
            }
        }
    }

    @Test
    void txt2imgSessionsCountTheirImagesAndModelCalls() throws Exception {
        try (TestServer s = TestServer.start(models); WsClient c = WsClient.connect(s.ws("/ws/txt2img"))) {
            c.nextOfType("hello");
            c.nextFrame();
            c.nextFrame();
            Scrape during = Scrape.of(s.http("/metrics"));
            assertThat(during.value("sd4j_sessions_opened_total{kind=\"txt2img\"}")).isEqualTo(1);
            assertThat(during.value("sd4j_frames_out_total")).isGreaterThanOrEqualTo(2);
            assertThat(during.value("sd4j_frames_in_total")).as("txt2img takes no frames").isZero();
            assertThat(during.value("sd4j_stage_seconds_count{stage=\"unet\"}")).isGreaterThanOrEqualTo(2);
            assertThat(during.value("sd4j_stage_seconds_count{stage=\"encode\"}")).as("no VAE encoder in txt2img").isZero();
            assertThat(during.value("sd4j_unet_calls_total")).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void notReadyWhileLoadingReadyOnceWarmNotReadyWhileDraining() throws Exception {
        WebServer server = new WebServer(WebServerOptions.defaults().withPort(0), SessionEvents.NONE);
        try {
            server.start();
            java.net.URI base = java.net.URI.create("http://127.0.0.1:" + server.port());
            HttpResponse<String> health = get(base.resolve("/healthz"));
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).isEqualTo("alive\n");
            HttpResponse<String> ready = get(base.resolve("/readyz"));
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).isEqualTo("loading\n");
            assertThat(server.isReady()).isFalse();
            // nothing that needs the models answers yet
            assertThat(get(base.resolve("/api/settings")).statusCode()).isEqualTo(503);
            assertThatThrownBy(() -> WsClient.connect(java.net.URI.create("ws://127.0.0.1:" + server.port() + "/ws")))
                    .isInstanceOf(ExecutionException.class);
            assertThat(get(base.resolve("/metrics")).statusCode()).isEqualTo(200);

            server.ready(TestServer.factory(models));
            assertThat(get(base.resolve("/readyz")).statusCode()).isEqualTo(200);
            assertThat(get(base.resolve("/readyz")).body()).isEqualTo("ready\n");
            try (WsClient c = WsClient.connect(java.net.URI.create("ws://127.0.0.1:" + server.port() + "/ws"))) {
                c.nextOfType("hello");
            }

            assertThat(server.drain(Duration.ofSeconds(30))).isTrue();
            ready = get(base.resolve("/readyz"));
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).isEqualTo("draining\n");
            assertThat(get(base.resolve("/healthz")).statusCode()).as("alive while draining").isEqualTo(200);
        } finally {
            server.close();
        }
    }

    @Test
    void probesNeedNoTokenTheMetricsDo() throws Exception {
        String token = "s3cret-token-for-tests";
        try (TestServer s = new TestServer(models, WebServerOptions.defaults().withAccessToken(token))) {
            assertThat(get(s.http("/healthz")).statusCode()).isEqualTo(200);
            assertThat(get(s.http("/readyz")).statusCode()).isEqualTo(200);
            assertThat(get(s.http("/metrics")).statusCode()).isEqualTo(401);
            HttpResponse<String> withToken = HTTP.send(HttpRequest.newBuilder(s.http("/metrics"))
                    .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(withToken.statusCode()).isEqualTo(200);
            assertThat(withToken.body()).contains("sd4j_sessions ");
            HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(s.http("/readyz"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
        }
    }
}
