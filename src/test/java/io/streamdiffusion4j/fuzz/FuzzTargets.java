package io.streamdiffusion4j.fuzz;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.engine.ControlCommand;
import io.streamdiffusion4j.image.ImageFuzzTargets;
import io.streamdiffusion4j.onnx.OnnxFuzzTargets;
import io.streamdiffusion4j.web.WebFuzzTargets;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;

/** Every fuzz target, by name. Targets that need files work under {@code fuzz.out}/work/NAME. */
public final class FuzzTargets {
    private static final Map<String, Supplier<FuzzTarget>> ALL = new LinkedHashMap<>();

    static {
        ALL.put("jpeg", ImageFuzzTargets::jpeg);
        ALL.put("jpeg-imageio", ImageFuzzTargets::jpegImageIo);
        ALL.put("png", ImageFuzzTargets::png);
        ALL.put("jpeg-header", () -> WebFuzzTargets.jpegHeader(ImageFuzzTargets.jpegSeeds()));
        ALL.put("ws-message", WebFuzzTargets::settingsMessage);
        ALL.put("run-config", FuzzTargets::runConfig);
        ALL.put("live-command", FuzzTargets::liveCommand);
        ALL.put("safetensors", () -> safetensors(work("safetensors")));
        ALL.put("onnx-proto", () -> OnnxFuzzTargets.protoReaders(work("onnx-proto")));
        ALL.put("onnx-session", () -> OnnxFuzzTargets.session(work("onnx-session")));
    }

    /** Targets that fail on purpose, to check that the harness reports each kind of failure (not run as targets). */
    private static final Map<String, Supplier<FuzzTarget>> SELF_TESTS = Map.of("native-crash", FuzzTargets::nativeCrash);

    private FuzzTargets() {}

    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    public static FuzzTarget byName(String name) {
        Supplier<FuzzTarget> t = ALL.getOrDefault(name, SELF_TESTS.get(name));
        if (t == null) throw new IllegalArgumentException("no fuzz target '" + name + "'; targets: " + names());
        return t.get();
    }

    private static Path work(String name) {
        try {
            return Files.createDirectories(FuzzSettings.fromSystemProperties().out().resolve("work").resolve(name).toAbsolutePath());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes to address 0 when an input starts with 'X': SIGSEGV, as a native decoder bug would. */
    private static FuzzTarget nativeCrash() {
        return new FuzzTarget("native-crash", () -> List.of("ok".getBytes(StandardCharsets.UTF_8)),
                (base, corpus, r) -> r.nextInt(5) == 0 ? "X crash".getBytes(StandardCharsets.UTF_8) : base, input -> {
            if (input.length > 0 && input[0] == 'X') {
                java.lang.foreign.MemorySegment.NULL.reinterpret(8).set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1);
            }
        }, Set.of(IOException.class), true, 100);
    }

    /** A run configuration file's text: a RunConfig, or a ConfigException naming the key. */
    static FuzzTarget runConfig() {
        List<String> keys = List.of("prompt", "negative_prompt", "width", "height", "t_index_list", "num_inference_steps",
                "guidance_scale", "delta", "cfg_type", "frame_buffer_size", "use_denoising_batch", "do_add_noise", "mode",
                "use_tiny_vae", "similar_image_filter", "seed", "txt2img_method", "num_outputs", "enabled", "threshold",
                "max_skip_frame", "prompt_list", "interpolation", "seed_list", "prompt_transition_frames", "controlnets", "path",
                "scale", "control_preprocessor", "control_depth_model", "ip_adapter", "ip_adapter_scale", "style_image");
        List<String> words = List.of("self", "full", "initialize", "none", "img2img", "txt2img", "sd_turbo", "canny", "depth",
                "linear", "slerp", "");
        return new FuzzTarget("run-config", FuzzTargets::configSeeds, new JsonMutator(16 * 1024, keys, words), input -> {
            RunConfig c = RunConfig.parse(new String(input, StandardCharsets.UTF_8), "fuzz.json");
            c.streamConfig(); // the pipeline's own checks must agree with the parser's
        }, Set.of(ConfigException.class), false, 10000);
    }

    private static List<byte[]> configSeeds() {
        List<byte[]> out = new ArrayList<>();
        String fixtures = System.getProperty("fixtures.dir");
        try {
            if (fixtures != null) {
                try (Stream<Path> runs = Files.list(Path.of(fixtures, "runs"))) {
                    for (Path p : runs.sorted().toList()) {
                        if (Files.isRegularFile(p.resolve("config.json"))) out.add(Files.readAllBytes(p.resolve("config.json")));
                    }
                }
            }
            Path example = Path.of("examples", "img2img.json");
            if (Files.isRegularFile(example)) out.add(Files.readAllBytes(example));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (String s : List.of("{}", "{\"mode\":\"txt2img\",\"txt2img_method\":\"sd_turbo\",\"t_index_list\":[0],"
                + "\"num_inference_steps\":1,\"num_outputs\":4,\"seed\":-1}", "{\"cfg_type\":\"full\",\"frame_buffer_size\":2,"
                + "\"similar_image_filter\":{\"enabled\":true}}")) {
            out.add(s.getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    /** A line typed on the CLI's standard input during a run: a command, or an IllegalArgumentException saying what was expected. */
    static FuzzTarget liveCommand() {
        List<String> tokens = List.of("prompt ", "negative ", "negative_prompt ", "guidance ", "guidance_scale ", "delta ",
                "t_index ", "t_index_list ", "seed ", "filter ", "on", "off", "status", "quit", "help", "?", ",", " ", "[", "]",
                "-", "1e999", "NaN", "Infinity", "0x10", "9223372036854775808", "-1", "0.98", "\t", "\u00a0", "\u2003",
                "prompt_blend ", "seed_blend ", "interpolation ", "transition ", "controlnet ", ":", "|", "slerp");
        List<byte[]> seeds = Stream.of("prompt a cat in the snow", "negative blurry, low quality", "guidance 1.4 0.8",
                "delta 0.8", "t_index 22,32,45", "t_index [10, 20]", "seed 7", "filter on 0.95 5", "filter on", "filter off",
                "status", "quit", "help", "prompt_blend a cat:0.7 | a dog:0.3", "seed_blend 2:0.5, 7:0.5", "interpolation slerp",
                "transition 30", "controlnet 1 0.5").map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
        return new FuzzTarget("live-command", () -> seeds, new ByteMutator(2048, tokens), input -> {
            // checked against 50 steps, as a run's default, with two ControlNets (no IP-Adapter: its style command reads files)
            ControlCommand c = ControlCommand.parse(new String(input, StandardCharsets.UTF_8), 50, 2);
            if (c.kind() == null || c.description() == null || (c.kind() == ControlCommand.Kind.CHANGE) != (c.change() != null)) {
                throw new IllegalStateException("incomplete command " + c);
            }
        }, Set.of(IllegalArgumentException.class), false, 30000);
    }

    /**
     * A safetensors file: opened (header checked), then every tensor read. Mutation is
     * structure-aware half the time (the JSON header mutated, then put back with its length,
     * right or off by a little), byte-level otherwise (the length field, the data).
     */
    static FuzzTarget safetensors(Path work) {
        List<String> keys = List.of("dtype", "shape", "data_offsets", "__metadata__", "format", "a", "b");
        List<String> words = List.of("F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "pt", "");
        JsonMutator json = new JsonMutator(64 * 1024, keys, words);
        ByteMutator bytes = new ByteMutator(64 * 1024, keys.stream().map(k -> "\"" + k + "\"").toList());
        Mutator mutator = (base, corpus, r) -> r.nextBoolean() ? headerMutation(base, corpus, r, json) : bytes.mutate(base, corpus, r);
        Path file = work.resolve("fuzz.safetensors");
        return new FuzzTarget("safetensors", () -> safetensorsSeeds(work), mutator, input -> {
            Files.write(file, input);
            try (SafeTensors st = SafeTensors.open(file)) {
                for (SafeTensors.Entry e : st.entries().values()) {
                    // what was accepted must be what the header says, computed without overflow
                    java.math.BigInteger needed = java.math.BigInteger.valueOf(e.dtype().size());
                    for (int d : e.shape()) needed = needed.multiply(java.math.BigInteger.valueOf(d));
                    if (!needed.equals(java.math.BigInteger.valueOf(e.end() - e.begin())) || e.begin() < 0) {
                        throw new IllegalStateException("accepted tensor '" + e.name() + "' of shape " + Arrays.toString(e.shape())
                                + " with data_offsets [" + e.begin() + ", " + e.end() + "]");
                    }
                    st.shape(e.name());
                    st.raw(e.name());
                    if (e.dtype().isFloat()) st.floats(e.name());
                }
            }
        }, Set.of(IOException.class), false, 2000);
    }

    private static byte[] headerMutation(byte[] base, List<byte[]> corpus, SplittableRandom r, JsonMutator json) {
        if (base.length < 8) return json.mutate(base, corpus, r);
        long len = ByteBuffer.wrap(base, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (len <= 0 || len > base.length - 8) return json.mutate(base, corpus, r);
        byte[] header = json.mutate(Arrays.copyOfRange(base, 8, 8 + (int) len), corpus, r);
        byte[] data = Arrays.copyOfRange(base, 8 + (int) len, base.length);
        long written = header.length + (r.nextInt(8) == 0 ? r.nextInt(-3, 4) : 0);
        ByteBuffer out = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return out.putLong(written).put(header).put(data).array();
    }

    private static List<byte[]> safetensorsSeeds(Path work) {
        try {
            Path file = work.resolve("seed.safetensors");
            List<byte[]> out = new ArrayList<>();
            SafeTensors.write(file, List.of(
                    new SafeTensors.Tensor("a", DType.F32, new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}),
                    new SafeTensors.Tensor("b", DType.F16, new int[] {4}, new float[] {1, -1, 0.5f, 65504}),
                    new SafeTensors.Tensor("c", DType.BF16, new int[] {1, 1, 2}, new float[] {3, 4}),
                    new SafeTensors.Tensor("scalar", DType.F32, new int[] {}, new float[] {7})), Map.of("format", "pt"));
            out.add(Files.readAllBytes(file));
            SafeTensors.write(file, List.of(new SafeTensors.Tensor("empty", DType.F32, new int[] {0, 5}, new float[0])), Map.of());
            out.add(Files.readAllBytes(file));
            // an F64 and an integer tensor, written by hand (the writer only writes float32/16 and bfloat16)
            String header = "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                    + "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}}";
            byte[] h = header.getBytes(StandardCharsets.UTF_8);
            out.add(ByteBuffer.allocate(8 + h.length + 24).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h)
                    .putDouble(1.5).putDouble(-2).putLong(3).array());
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
