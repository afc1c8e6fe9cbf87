package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.batching.BatchingUnet;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.IpAdapterFolder;
import io.streamdiffusion4j.convert.IpAdapterPreset;
import io.streamdiffusion4j.convert.IpAdapterStore;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OrtImageEncoder;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page protocol with an IP-Adapter (the built-in tiny model and a random tiny-ip-adapter,
 * sessions sharing the adapter's UNet and image encoder as {@code serve --ip-adapter} loads them):
 * the hello names the adapter, a style image and the scale reach the session's pipeline (what comes
 * back is exactly what a stream built directly with the library, with its own image encoder, makes
 * of the same frames and style image), and every bad style image is refused with a reason while the
 * session keeps its previous style image.
 */
class IpAdapterProtocolTest {
    private static final double SCALE = 0.8;
    private static final int MAX_SIDE = 100;

    @TempDir
    static Path dir;
    private static StreamDiffusion owner; // loads the adapter's models once, as serve's model owner
    private static IpAdapterStore.Variant variant;

    @BeforeAll
    static void load() throws Exception {
        ModelStore store = ModelStore.defaultStore();
        Path onnx = store.builtInTiny(DiffusersConverter.Progress.NONE);
        Path adapter = dir.resolve("adapter");
        RandomModels.create(IpAdapterPreset.TINY, 0, adapter, null);
        variant = IpAdapterStore.prepare(store.root(), onnx, IpAdapterFolder.of(adapter), DiffusersConverter.Progress.NONE);
        owner = StreamDiffusion.builder().model(onnx).taesd(onnx.resolve("taesd")).config(TestServer.config())
                .ipAdapter(variant, SCALE).build();
    }

    @AfterAll
    static void close() {
        owner.close();
    }

    private static StreamFactory factory(RgbImage initialStyle) {
        return TestServer.factory(owner.models()).ipAdapter(owner.imageEncoder(), SCALE, initialStyle);
    }

    private static WebServer start(StreamFactory factory) throws Exception {
        WebServer server = new WebServer(WebServerOptions.defaults().withPort(0).withMaxFrameSide(MAX_SIDE), factory,
                new TestServer.Events());
        server.start();
        return server;
    }

    private static java.net.URI ws(WebServer s) {
        return java.net.URI.create("ws://127.0.0.1:" + s.port() + "/ws");
    }

    /** What the session must make: the library's stream on the same models, with an image encoder of its own. */
    private static StreamDiffusion reference(RgbImage style) throws Exception {
        StableDiffusionModels models = owner.models();
        StreamDiffusion r = StreamDiffusion.builder().models(models).config(TestServer.config()).seed(TestServer.SEED)
                .warmStart(true).imageEncoder(OrtImageEncoder.open(variant.imageEncoder()), SCALE).styleImage(style).build();
        r.prepare(TestServer.PROMPT, "", 50, TestServer.GUIDANCE_SCALE, TestServer.DELTA);
        return r;
    }

    private static void sendStyle(WsClient c, byte[] image) {
        c.send("{\"type\":\"style_image\",\"bytes\":" + image.length + "}");
        c.send(image);
    }

    private static JsonNode error(WsClient c, String code) throws Exception {
        JsonNode e = c.nextOfType("error");
        assertThat(e.get("code").asText()).as(e.toString()).isEqualTo(code);
        return e;
    }

    private static byte[] png(int w, int h, int seed) throws Exception {
        var img = new java.awt.image.BufferedImage(w, h, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 7 + seed) << 16 | (y * 5 + seed) << 8 | seed * 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static RgbImage decode(byte[] image) throws Exception {
        return ImageCodec.best().decode(image, ImageSizeLimit.FRAMES);
    }

    @Test
    void helloNamesTheAdapterAndAStyleImageThenTheScaleReachTheSession() throws Exception {
        WebServer server = start(factory(null));
        try (WsClient c = WsClient.connect(ws(server)); StreamDiffusion reference = reference(null);
             StreamDiffusion unchanged = reference(null)) {
            JsonNode hello = c.nextOfType("hello");
            JsonNode ip = hello.get("ip_adapter");
            assertThat(ip).as(hello.toString()).isNotNull();
            assertThat(ip.get("scale").asDouble()).isEqualTo(SCALE);
            assertThat(ip.get("scale_range").toString()).isEqualTo("[0.0,10.0]");
            assertThat(ip.get("style_image").asBoolean()).isFalse();
            assertThat(ip.get("max_style_side").asInt()).isEqualTo(MAX_SIDE);
            assertThat(ip.get("max_style_bytes").asInt()).isEqualTo(WebServerOptions.defaults().maxMessageBytes());
            assertThat(hello.at("/settings/ip_adapter_scale").asDouble()).isEqualTo(SCALE);
            assertThat(hello.at("/limits/ip_adapter_scale").toString()).isEqualTo("[0.0,10.0]");

            byte[][] frames = {TestServer.jpeg(200, 20, 20), TestServer.jpeg(20, 20, 200), TestServer.jpeg(20, 200, 20),
                    TestServer.jpeg(90, 90, 90)};
            // without a style image: the plain stream's numbers (scale row 0)
            c.send(frames[0]);
            byte[] first = c.nextFrame().jpeg();
            assertThat(first).isEqualTo(TestServer.expected(reference, frames[0]));
            TestServer.expected(unchanged, frames[0]);

            // a PNG style image, then the next frame: made with it (the change is queued before the frame)
            byte[] style = png(48, 40, 3);
            sendStyle(c, style);
            c.send(frames[1]);
            reference.updateStyleImage(decode(style));
            // told once the style image is in the pipeline, before the frame made with it
            JsonNode ack = c.nextOfType("style_image");
            assertThat(ack.toString()).isEqualTo("{\"type\":\"style_image\",\"set\":true,\"width\":48,\"height\":40}");
            byte[] styled = c.nextFrame().jpeg();
            assertThat(styled).isEqualTo(TestServer.expected(reference, frames[1]));
            assertThat(styled).as("the style image changed the picture").isNotEqualTo(TestServer.expected(unchanged, frames[1]));

            // the scale, by either name
            c.send("{\"type\":\"settings\",\"ip_adapter_scale\":0.3}");
            assertThat(c.nextOfType("settings").at("/settings/ip_adapter_scale").asDouble()).isEqualTo(0.3);
            c.send(frames[2]);
            reference.updateIpAdapterScale(0.3);
            assertThat(c.nextFrame().jpeg()).isEqualTo(TestServer.expected(reference, frames[2]));
            c.send("{\"type\":\"settings\",\"ip_scale\":1.5}");
            assertThat(c.nextOfType("settings").at("/settings/ip_adapter_scale").asDouble()).isEqualTo(1.5);

            // clearing the style image: the plain stream again
            c.send("{\"type\":\"style_image\",\"clear\":true}");
            c.send(frames[3]);
            reference.updateIpAdapterScale(1.5);
            reference.updateStyleImage(null);
            assertThat(c.nextOfType("style_image").toString()).isEqualTo("{\"type\":\"style_image\",\"set\":false}");
            assertThat(c.nextFrame().jpeg()).isEqualTo(TestServer.expected(reference, frames[3]));
        } finally {
            server.close();
        }
    }

    @Test
    void badStyleImagesAreRefusedWithTheReasonAndThePreviousStyleStays() throws Exception {
        byte[] style = png(30, 30, 9);
        WebServer server = start(factory(decode(style))); // sessions start with the server's style image
        try (WsClient c = WsClient.connect(ws(server)); StreamDiffusion reference = reference(decode(style))) {
            JsonNode hello = c.nextOfType("hello");
            assertThat(hello.at("/ip_adapter/style_image").asBoolean()).isTrue();
            byte[] jpeg = TestServer.jpeg(20, 20, 20);
            String[] refusals = new String[6];
            // larger than --max-frame-size: refused from the header
            sendStyle(c, TestServer.jpeg(160, 40, 10, 10, 10));
            refusals[0] = error(c, "style_image_too_large").get("message").asText();
            assertThat(refusals[0]).contains("style image is 160x40").contains("at most 100 pixels").contains("stays as it was");
            // not an image
            sendStyle(c, "hello world".getBytes());
            refusals[1] = error(c, "bad_style_image").get("message").asText();
            assertThat(refusals[1]).contains("JPEG or PNG").contains("found bytes 68 65 6C 6C");
            // a format frames do not take either
            byte[] gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0};
            sendStyle(c, gif);
            assertThat(error(c, "bad_style_image").get("message").asText()).contains("found a GIF image");
            // a damaged JPEG: a header and part of its tables, no picture
            sendStyle(c, Arrays.copyOf(jpeg, 200));
            assertThat(error(c, "bad_style_image").get("message").asText()).contains("style image (JPEG) could not be decoded");
            // a binary message of another size than announced
            c.send("{\"type\":\"style_image\",\"bytes\":1000}");
            c.send(new byte[500]);
            assertThat(error(c, "bad_style_image").get("message").asText()).contains("announced 1000 bytes")
                    .contains("has 500");
            // announcements refused outright: their binary message is still theirs, never a frame
            String[][] announcements = {
                    {"{\"type\":\"style_image\"}", "bytes must be the size of the image file that follows, 1 to"},
                    {"{\"type\":\"style_image\",\"bytes\":0}", "found 0"},
                    {"{\"type\":\"style_image\",\"bytes\":99999999999}", "found 99999999999"},
                    {"{\"type\":\"style_image\",\"bytes\":\"12\"}", "found \"12\""},
                    {"{\"type\":\"style_image\",\"bytes\":12,\"path\":\"/etc/passwd\"}", "unknown style_image key 'path'"},
            };
            for (String[] a : announcements) {
                c.send(a[0]);
                assertThat(error(c, "bad_style_image").get("message").asText()).as(a[0]).contains(a[1]);
                c.send(TestServer.jpeg(1, 1, 1));
            }
            c.send("{\"type\":\"style_image\",\"clear\":false}");
            assertThat(error(c, "bad_style_image").get("message").asText()).contains("clear must be true");
            List<Object> quiet = c.drain(Duration.ofMillis(500));
            assertThat(quiet).as("no frame came of the images after refused announcements")
                    .noneMatch(m -> m instanceof byte[] || (m instanceof JsonNode n && !n.path("type").asText().equals("status")));

            // nothing was lost: the first frame is made with the server's style image, numbered 1
            WsClient.Frame f = null;
            c.send(jpeg);
            f = c.nextFrame();
            assertThat(f.header().get("input_seq").asLong()).as("style images are not frames").isEqualTo(1);
            assertThat(f.jpeg()).isEqualTo(TestServer.expected(reference, jpeg));

            // the scale is checked as every setting is
            String[][] badScales = {
                    {"\"ip_adapter_scale\": 11", "ip_adapter_scale must be in [0, 10], found 11"},
                    {"\"ip_scale\": -0.5", "ip_scale must be in [0, 10], found -0.5"},
                    {"\"ip_adapter_scale\": \"strong\"", "ip_adapter_scale must be a number"},
                    {"\"ip_adapter_scale\": 1, \"ip_scale\": 1", "not both"},
            };
            for (String[] bad : badScales) {
                c.send("{\"type\": \"settings\", " + bad[0] + "}");
                assertThat(error(c, "bad_settings").get("message").asText()).as(bad[0]).contains(bad[1]);
            }
            c.send(TestServer.jpeg(60, 60, 60));
            assertThat(c.nextFrame().jpeg()).isEqualTo(TestServer.expected(reference, TestServer.jpeg(60, 60, 60)));
        } finally {
            server.close();
        }
    }

    /**
     * {@code serve --gather-window-ms} with an adapter: the style tokens and the scale travel in each
     * row's embeddings, which the batching UNet stacks with the rows, so two sessions with another
     * style image and scale each still get exactly what their own unbatched stream makes.
     */
    @Test
    void batchedSessionsKeepTheirOwnStyleImageAndScale() throws Exception {
        byte[] style = png(40, 40, 7);
        try (BatchingUnet batching = new BatchingUnet(owner.models().unet(), Duration.ofSeconds(5))) {
            StreamFactory factory = TestServer.factory(owner.models().withUnet(batching))
                    .ipAdapter(owner.imageEncoder(), SCALE, null);
            WebServer server = start(factory);
            try (WsClient a = WsClient.connect(ws(server)); WsClient b = WsClient.connect(ws(server));
                 StreamDiffusion refA = reference(decode(style)); StreamDiffusion refB = reference(null)) {
                a.nextOfType("hello");
                b.nextOfType("hello");
                sendStyle(a, style);
                b.send("{\"type\":\"settings\",\"ip_adapter_scale\":2.5}");
                b.nextOfType("settings");
                refB.updateIpAdapterScale(2.5);
                for (int i = 0; i < 4; i++) {
                    byte[] f = TestServer.jpeg(40 * i, 100, 50);
                    a.send(f);
                    b.send(f);
                    byte[] ga = a.nextFrame().jpeg();
                    byte[] gb = b.nextFrame().jpeg();
                    assertThat(ga).as("A, frame %d", i).isEqualTo(TestServer.expected(refA, f));
                    assertThat(gb).as("B, frame %d", i).isEqualTo(TestServer.expected(refB, f));
                    assertThat(ga).as("the same frame, another style").isNotEqualTo(gb);
                }
                assertThat(batching.stats().modelCalls()).as("stacked: %s", batching.stats())
                        .isLessThan(batching.stats().streamCalls());
            } finally {
                server.close();
            }
        }
    }

    @Test
    void aServerWithoutAnAdapterRefusesStyleImagesAndTheScale() throws Exception {
        WebServer server = start(TestServer.factory(owner.models()));
        try (WsClient c = WsClient.connect(ws(server))) {
            JsonNode hello = c.nextOfType("hello");
            assertThat(hello.has("ip_adapter")).isFalse();
            assertThat(hello.at("/settings").has("ip_adapter_scale")).isFalse();
            sendStyle(c, png(8, 8, 1));
            assertThat(error(c, "no_ip_adapter").get("message").asText()).contains("runs no IP-Adapter (serve --ip-adapter)");
            c.send("{\"type\":\"settings\",\"ip_scale\":0.5}");
            assertThat(error(c, "bad_settings").get("message").asText()).contains("runs no IP-Adapter").contains("ip_scale");
        } finally {
            server.close();
        }
    }

    @Test
    void txt2imgSessionsRunWithTheAdapterAndTakeItsScaleAndStyleImages() throws Exception {
        WebServer server = start(factory(decode(png(20, 20, 5))));
        try (WsClient c = WsClient.connect(java.net.URI.create("ws://127.0.0.1:" + server.port() + "/ws/txt2img"))) {
            JsonNode hello = c.nextOfType("hello");
            assertThat(hello.at("/settings/ip_adapter_scale").asDouble()).isEqualTo(SCALE);
            byte[] before = c.nextFrame().jpeg();
            c.send("{\"type\":\"settings\",\"ip_adapter_scale\":0}");
            assertThat(c.nextOfType("settings").at("/settings/ip_adapter_scale").asDouble()).isEqualTo(0.0);
            byte[] after = c.nextFrame().jpeg();
            assertThat(after).as("scale 0 drops the style image's part").isNotEqualTo(before);
            // a style image from the page: the session draws again with it
            c.send("{\"type\":\"settings\",\"ip_adapter_scale\":2}");
            c.nextOfType("settings");
            byte[] scaled = c.nextFrame().jpeg();
            sendStyle(c, png(32, 24, 11));
            assertThat(c.nextOfType("style_image").toString()).isEqualTo("{\"type\":\"style_image\",\"set\":true,\"width\":32,\"height\":24}");
            assertThat(c.nextFrame().jpeg()).as("another style image, another picture").isNotEqualTo(scaled);
            sendStyle(c, "not an image".getBytes());
            assertThat(error(c, "bad_style_image").get("message").asText()).contains("JPEG or PNG");
            c.send(new byte[] {1, 2, 3});
            assertThat(error(c, "bad_message").get("message").asText()).contains("takes no frames");
        } finally {
            server.close();
        }
    }
}
