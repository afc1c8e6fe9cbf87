package io.streamdiffusion4j.web;

import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelStore;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A web server on the built-in tiny model at 64x64, and what happened to its sessions. */
final class TestServer implements AutoCloseable {
    static final int SIZE = 64;
    static final String PROMPT = "a fox in the snow";
    static final int[] T_INDEX_LIST = {32, 45};
    static final double GUIDANCE_SCALE = 1.2;
    static final double DELTA = 1.0;
    static final long SEED = 2;

    final WebServer server;
    final StreamFactory factory;
    final Events events = new Events();

    /** Session events recorded: settings that reached each pipeline, SHA-free copies of every image sent. */
    static final class Events implements SessionEvents {
        final Map<String, List<StreamSettings>> applied = new ConcurrentHashMap<>();
        final Map<String, List<byte[]>> sent = new ConcurrentHashMap<>();
        /** Per session, what each image sent was made from: input frame (img2img) or settings version (txt2img). */
        final Map<String, List<Long>> sentSources = new ConcurrentHashMap<>();
        final Map<String, String> opened = new ConcurrentHashMap<>();
        final Map<String, String> ended = new ConcurrentHashMap<>();

        @Override
        public void opened(String session, String kind) {
            opened.put(session, kind);
        }

        @Override
        public void settingsApplied(String session, StreamSettings settings) {
            applied.computeIfAbsent(session, k -> new CopyOnWriteArrayList<>()).add(settings);
        }

        @Override
        public void frameSent(String session, long seq, long source, byte[] jpeg) {
            sentSources.computeIfAbsent(session, k -> new CopyOnWriteArrayList<>()).add(source);
            sent.computeIfAbsent(session, k -> new CopyOnWriteArrayList<>()).add(jpeg);
        }

        @Override
        public void ended(String session, String reason) {
            ended.put(session, reason);
        }
    }

    /**
     * The built-in tiny model, as {@code serve --model tiny} loads it (random weights: coloured noise
     * that follows the input and the settings); created in the test cache on first use. The caller closes it.
     */
    static StableDiffusionModels loadModels() throws IOException {
        Path onnx = ModelStore.defaultStore().builtInTiny(DiffusersConverter.Progress.NONE);
        return OnnxModelLoader.load(onnx, onnx.resolve("taesd"), OnnxModelLoader.Options.defaults());
    }

    static StreamConfig config() {
        return StreamConfig.builder().size(SIZE, SIZE).tIndexList(T_INDEX_LIST).build();
    }

    static StreamFactory factory(StableDiffusionModels models) {
        return new StreamFactory(models, config(), 50, new int[] {0, 16, 32, 45}, PROMPT, "", GUIDANCE_SCALE, DELTA, SEED);
    }

    TestServer(StableDiffusionModels models, WebServerOptions options) throws Exception {
        factory = factory(models);
        server = new WebServer(options.withPort(0), factory, events);
        server.start();
    }

    static TestServer start(StableDiffusionModels models) throws Exception {
        return new TestServer(models, WebServerOptions.defaults());
    }

    URI http(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    URI ws(String path) {
        return URI.create("ws://127.0.0.1:" + server.port() + path);
    }

    /**
     * What a session must send, made independently of the server: a pipeline built directly with
     * the library (not the server's {@link StreamFactory} or settings code), with the settings the
     * test gave the session, fed the same frames. Warm start, as the server promises (the first
     * frames show the picture, not the empty buffer). The caller closes it.
     */
    static StreamDiffusion reference(StableDiffusionModels models, String prompt, String negativePrompt, int[] tIndexList,
                                     double guidanceScale, double delta, long seed) throws IOException {
        StreamDiffusion stream = StreamDiffusion.builder().models(models).config(config()).tIndexList(tIndexList)
                .seed(seed).warmStart(true).build();
        try {
            stream.prepare(prompt, negativePrompt, 50, guidanceScale, delta);
            return stream;
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    /**
     * {@link #reference} with the given settings' prompt, steps, guidance and seed. A seed of 2^63
     * or more is a negative {@code long} (see TorchSeed), which the builder reads as "draw a random
     * seed", so it is set after prepare, as a library user would.
     */
    static StreamDiffusion reference(StableDiffusionModels models, StreamSettings st) throws IOException {
        long seed = st.seed();
        StreamDiffusion stream = reference(models, st.prompt(), st.negativePrompt(),
                st.tIndexList().stream().mapToInt(Integer::intValue).toArray(), st.guidanceScale(), st.delta(), seed >= 0 ? seed : 0);
        if (seed < 0) stream.updateSeed(seed);
        return stream;
    }

    /** {@link #reference} with the settings a new session starts with. */
    static StreamDiffusion reference(StableDiffusionModels models) throws IOException {
        return reference(models, PROMPT, "", T_INDEX_LIST, GUIDANCE_SCALE, DELTA, SEED);
    }

    StreamSettings defaults() {
        return factory.initialSettings();
    }

    static byte[] jpeg(int r, int g, int b) throws IOException {
        return jpeg(SIZE, SIZE, r, g, b);
    }

    static byte[] jpeg(int w, int h, int r, int g, int b) throws IOException {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                rgb[i] = (byte) (r + x);       // a gradient, so frames are not flat
                rgb[i + 1] = (byte) (g + y);
                rgb[i + 2] = (byte) b;
            }
        }
        return ImageCodec.best().encodeJpeg(new RgbImage(w, h, rgb), 90);
    }

    /** What a pipeline makes of a frame, as the JPEG the server would send. */
    static byte[] expected(StreamDiffusion reference, byte[] inputJpeg) throws IOException {
        RgbImage in = ImageCodec.best().decode(inputJpeg);
        RgbImage out = reference.img2img(List.of(in)).getFirst();
        return ImageCodec.best().encodeJpeg(out, ImageSession.JPEG_QUALITY);
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
