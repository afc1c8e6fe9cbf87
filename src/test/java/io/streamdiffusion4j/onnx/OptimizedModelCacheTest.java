package io.streamdiffusion4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.files.FolderManifest;
import io.streamdiffusion4j.testing.Fixtures;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The optimised-model cache: a damaged entry (truncated, overwritten, or unloadable) is rebuilt
 * once with a notice, not reported on every run; and every input of the optimisation (model
 * contents, shapes, provider, runtime version) gets its own entry.
 */
class OptimizedModelCacheTest {
    /** The TAESD decoder: large enough that ONNX Runtime writes its weights to model.onnx_data. */
    private static final Path DECODER = Fixtures.taesd().resolve("vae_decoder/model.onnx");

    private final List<String> notices = new ArrayList<>();

    private ConfiguredSessions sessions(Path cache, StaticShapes shapes) {
        OnnxModelLoader.Options o = OnnxModelLoader.Options.defaults().withOptimizedModelCache(cache)
                .withStaticShapes(shapes).withNotices(notices::add);
        return new ConfiguredSessions(o, new ExecutionProvider.Cpu());
    }

    /** Opens the decoder through the cache, runs it once, and returns its setup line. */
    private String openAndRun(Path cache) throws Exception {
        try (OnnxSession s = sessions(cache, null).open(DECODER, Map.of())) {
            runDecoder(s);
            return s.setup();
        }
    }

    private static float[] runDecoder(OnnxSession s) throws Exception {
        float[] latent = new float[4 * 8 * 8];
        for (int i = 0; i < latent.length; i++) latent[i] = (float) Math.sin(i * 0.37);
        try (OnnxTensor in = OnnxTensor.createTensor(s.env(), FloatBuffer.wrap(latent), new long[] {1, 4, 8, 8});
             OrtSession.Result r = s.session().run(Map.of(s.session().getInputNames().iterator().next(), in))) {
            float[] out = ((OnnxTensor) r.get(0)).getFloatBuffer().array();
            assertThat(out).hasSize(3 * 64 * 64);
            return out;
        }
    }

    private static Path onlyEntry(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            List<Path> entries = s.filter(p -> !p.getFileName().toString().startsWith(".")).toList();
            assertThat(entries).hasSize(1);
            return entries.getFirst();
        }
    }

    private static Set<String> entryNames(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            Set<String> names = new HashSet<>();
            s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).forEach(names::add);
            return names;
        }
    }

    @Test
    void aTruncatedEntryIsRebuiltOnceWithANotice(@TempDir Path cache) throws Exception {
        assertThat(openAndRun(cache)).contains("optimised model saved to");
        Path entry = onlyEntry(cache);
        Path data = entry.resolve("model.onnx_data");
        assertThat(data).exists();
        try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }

        assertThat(openAndRun(cache)).contains("optimised model saved to");
        assertThat(notices).singleElement().asString()
                .contains("damaged").contains("model.onnx_data is").contains("rebuilding").contains(entry.toString());
        assertThat(CacheEntryState.of(entry)).isEqualTo(CacheEntryState.INTACT);

        notices.clear();
        assertThat(openAndRun(cache)).contains("optimised model from the cache");
        assertThat(notices).isEmpty();
        assertThat(entryNames(cache)).containsExactly(entry.getFileName().toString());
    }

    @Test
    void anOverwrittenGraphOfTheSameSizeIsFoundByItsChecksum(@TempDir Path cache) throws Exception {
        openAndRun(cache);
        Path graph = onlyEntry(cache).resolve("model.onnx");
        byte[] bytes = Files.readAllBytes(graph);
        for (int i = 0; i < bytes.length; i += 7) bytes[i] ^= 0x5a;
        Files.write(graph, bytes);

        assertThat(openAndRun(cache)).contains("optimised model saved to");
        assertThat(notices).singleElement().asString().contains("model.onnx does not match its checksum");
    }

    /** An entry that matches its manifest but that ONNX Runtime refuses is rebuilt too. */
    @Test
    void anEntryOnnxRuntimeCannotLoadIsRebuilt(@TempDir Path cache) throws Exception {
        openAndRun(cache);
        Path entry = onlyEntry(cache);
        Files.writeString(entry.resolve("model.onnx"), "not a protobuf");
        FolderManifest.write(entry);

        assertThat(openAndRun(cache)).contains("optimised model saved to");
        assertThat(notices).singleElement().asString().contains("ONNX Runtime cannot load it").contains("rebuilding");
        notices.clear();
        assertThat(openAndRun(cache)).contains("from the cache");
        assertThat(notices).isEmpty();
    }

    /** Entries of an older version (a bare "complete" marker, no manifest) are not trusted. */
    @Test
    void anEntryWithoutManifestIsRebuilt(@TempDir Path cache) throws Exception {
        openAndRun(cache);
        Files.delete(onlyEntry(cache).resolve(FolderManifest.FILE_NAME));
        assertThat(openAndRun(cache)).contains("optimised model saved to");
        assertThat(notices).singleElement().asString().contains("no " + FolderManifest.FILE_NAME);
    }

    /** Same size, same modification time, other bytes: still another model, so another entry. */
    @Test
    void changedModelContentsGetANewEntry(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        Path model = SyntheticModels.scaleModel(dir.resolve("scale"), "x", "y", 512, false, true);
        Path data = model.resolveSibling("model.onnx_data");
        try (OnnxSession s = sessions(cache, null).open(model, Map.of())) {
            assertThat(s.setup()).contains("saved to");
        }
        FileTime mtime = Files.getLastModifiedTime(data);
        byte[] weights = Files.readAllBytes(data);
        weights[0] ^= 1;
        Thread.sleep(20); // let the file system's change-time clock move on
        Files.write(data, weights);
        Files.setLastModifiedTime(data, mtime);
        assertThat(Files.size(data)).isEqualTo(weights.length);

        try (OnnxSession s = sessions(cache, null).open(model, Map.of())) {
            assertThat(s.setup()).as("the changed model must not be served the old optimised graph").contains("saved to");
        }
        assertThat(entryNames(cache)).hasSize(2);
    }

    @Test
    void otherShapesGetANewEntry(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        Path model = SyntheticModels.scaleModel(dir.resolve("scale"), "x", "y", 512, false, true);
        StaticShapes anyShapes = new StaticShapes(1, 1, 1, 64, 64); // only marks "static"; the sizes come from `wanted`
        for (long batch : new long[] {1, 2, 1}) {
            try (OnnxSession s = sessions(cache, anyShapes).open(model, Map.of("x", new long[] {batch, 512, 4, 4}))) {
                assertThat(s.setup()).contains("x[" + batch + ", 512, 4, 4]");
            }
        }
        assertThat(entryNames(cache)).hasSize(2);
    }

    /** Provider, optimisation level, runtime version and architecture each change the entry's name. */
    @Test
    void everyPartOfTheKeyNamesAnotherEntry() {
        Path file = Path.of("models", "unet", "model.onnx");
        OptimizedModelKey base = new OptimizedModelKey("m1", "dynamic", "cpu", "ALL_OPT", "1.29.0", "amd64");
        List<OptimizedModelKey> variants = List.of(
                base,
                new OptimizedModelKey("m2", "dynamic", "cpu", "ALL_OPT", "1.29.0", "amd64"),
                new OptimizedModelKey("m1", "2x4x8x8", "cpu", "ALL_OPT", "1.29.0", "amd64"),
                new OptimizedModelKey("m1", "dynamic", "cuda", "ALL_OPT", "1.29.0", "amd64"),
                new OptimizedModelKey("m1", "dynamic", "cpu", "EXTENDED_OPT", "1.29.0", "amd64"),
                new OptimizedModelKey("m1", "dynamic", "cpu", "ALL_OPT", "1.30.0", "amd64"),
                new OptimizedModelKey("m1", "dynamic", "cpu", "ALL_OPT", "1.29.0", "aarch64"));
        Set<String> names = new HashSet<>();
        for (OptimizedModelKey k : variants) {
            String name = k.folderName(file);
            assertThat(name).startsWith("unet-");
            names.add(name);
        }
        assertThat(names).hasSize(variants.size());
        assertThat(base.folderName(file)).isEqualTo(new OptimizedModelKey("m1", "dynamic", "cpu", "ALL_OPT", "1.29.0", "amd64")
                .folderName(file));
        // the live key takes the runtime's own version and the provider's name
        OptimizedModelKey live = OptimizedModelKey.of("m1", SessionShapes.dynamic(new GraphInputs(Map.of())),
                new ExecutionProvider.Cpu(), OrtSession.SessionOptions.OptLevel.ALL_OPT);
        assertThat(live.runtimeVersion()).isEqualTo(OrtRuntime.version());
        assertThat(live.provider()).isEqualTo("cpu");
    }

    /** A readable name for what {@link io.streamdiffusion4j.files.CacheEntry#damage} says. */
    private enum CacheEntryState {
        INTACT, DAMAGED;

        static CacheEntryState of(Path entry) {
            return io.streamdiffusion4j.files.CacheEntry.damage(entry) == null ? INTACT : DAMAGED;
        }
    }
}
