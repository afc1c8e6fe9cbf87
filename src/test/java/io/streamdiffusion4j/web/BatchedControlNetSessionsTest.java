package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.batching.BatchStats;
import io.streamdiffusion4j.batching.CrossSessionBatching;
import io.streamdiffusion4j.control.CannyPreprocessor;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtControlNet;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.testing.ControlNetTestModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cross-session batching with a ControlNet in the server ({@code serve --controlnet CN
 * --gather-window-ms MS}) on the tiny model with a residual-input UNet and a ControlNet-shaped
 * test graph ({@link ControlNetTestModels}), canny control images: three sessions (ControlNet
 * scale 0.8, 0 and 0.3, with their own prompts and seeds) whose UNet calls, carrying each
 * session's own residuals, are stacked, each get exactly the JPEGs an unbatched pipeline with
 * their settings makes of their own frames, and no gather waits out its window.
 */
class BatchedControlNetSessionsTest {

    @Test
    void batchedSessionsWithAControlNetEachGetOnlyTheirOwnImages(@TempDir Path dir) throws Exception {
        Path model = ControlNetTestModels.tinyWithControl(dir);
        ControlNetTestModels.controlNet(dir.resolve("cn"), 4, 16);
        OnnxModelLoader.Options options = OnnxModelLoader.Options.defaults();
        try (StableDiffusionModels models = OnnxModelLoader.load(model, model.resolve("taesd"), options,
                model.resolve("unet_control/model.onnx"));
             OrtControlNet cn = OnnxModelLoader.loadControlNet(dir.resolve("cn"), options);
             CrossSessionBatching batching = CrossSessionBatching.of(models, Duration.ofSeconds(5))) {
            StreamFactory factory = TestServer.factory(batching.models()).controlNets(List.of(cn), new double[] {0.8},
                    new CannyPreprocessor());
            WebServer server = new WebServer(WebServerOptions.defaults().withPort(0), factory, new TestServer.Events());
            server.start();
            String ws = "ws://127.0.0.1:" + server.port() + "/ws";
            try (WsClient a = WsClient.connect(java.net.URI.create(ws));
                 WsClient b = WsClient.connect(java.net.URI.create(ws));
                 WsClient c = WsClient.connect(java.net.URI.create(ws))) {
                List<WsClient> clients = List.of(a, b, c);
                List<String> ids = new ArrayList<>();
                for (WsClient x : clients) ids.add(x.nextOfType("hello").get("session").asText());
                b.send("{\"type\": \"settings\", \"prompt\": \"a lighthouse at night\", \"seed\": 99, \"controlnet_scales\": [0]}");
                b.nextOfType("settings");
                c.send("{\"type\": \"settings\", \"prompt\": \"a red barn\", \"seed\": 7, \"guidance_scale\": 1.6,"
                        + " \"controlnet_scales\": [0.3]}");
                c.nextOfType("settings");
                try (StreamDiffusion refA = reference(models, cn, TestServer.PROMPT, TestServer.GUIDANCE_SCALE, TestServer.SEED, 0.8);
                     StreamDiffusion refB = reference(models, cn, "a lighthouse at night", TestServer.GUIDANCE_SCALE, 99, 0);
                     StreamDiffusion refC = reference(models, cn, "a red barn", 1.6, 7, 0.3)) {
                    List<StreamDiffusion> refs = List.of(refA, refB, refC);
                    for (int i = 0; i < 6; i++) {
                        List<byte[]> sent = List.of(TestServer.jpeg(40 * i, 100, 50), TestServer.jpeg(50, 40 * i, 100),
                                TestServer.jpeg(100, 50, 40 * i));
                        for (int k = 0; k < 3; k++) clients.get(k).send(sent.get(k));
                        List<byte[]> got = new ArrayList<>();
                        for (int k = 0; k < 3; k++) {
                            WsClient.Frame f = clients.get(k).nextFrame();
                            assertThat(f.header().get("session").asText()).isEqualTo(ids.get(k));
                            got.add(f.jpeg());
                        }
                        for (int k = 0; k < 3; k++) {
                            assertThat(got.get(k)).as("session %d, frame %d", k, i).isEqualTo(TestServer.expected(refs.get(k), sent.get(k)));
                        }
                    }
                }
            } finally {
                server.close();
            }
            BatchStats st = batching.unet().stats();
            assertThat(st.modelCalls()).as("the sessions' UNet calls were stacked: %s", st).isLessThan(st.streamCalls());
            assertThat(st.timeouts()).as("no window passed: %s", st).isZero();
        }
    }

    /** An unbatched pipeline with the ControlNet at {@code scale}, canny control images, and the session's settings. */
    private static StreamDiffusion reference(StableDiffusionModels models, OrtControlNet cn, String prompt, double guidance,
                                             long seed, double scale) throws java.io.IOException {
        StreamDiffusion stream = StreamDiffusion.builder().models(models).config(TestServer.config())
                .tIndexList(TestServer.T_INDEX_LIST).seed(seed).warmStart(true).controlNet(cn, scale)
                .controlPreprocessor(new CannyPreprocessor(), true).build();
        try {
            stream.prepare(prompt, "", 50, guidance, TestServer.DELTA);
            return stream;
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }
}
