package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Opens sessions as {@link OnnxModelLoader.Options} say: on the shared thread pools, with the
 * selected execution provider, static shapes when the pipeline configuration is known, and an
 * optimised-model cache.
 *
 * <p>The cache: graph optimisation (constant folding, operator fusion, the CPU's blocked NCHWc
 * layout) is redone on every start and takes seconds for a full-size UNet. With a cache folder
 * the first load saves the optimised graph (weights in external data next to it), keyed by the
 * model files, the static shapes, the provider, the optimisation level, the ONNX Runtime version
 * and the CPU architecture; later loads read it with optimisation off. Only for the CPU provider:
 * the saved graph at the highest level is specific to the CPU it was made on (ONNX Runtime warns
 * about that when it writes it) and to the provider that optimised it.
 */
final class ConfiguredSessions implements SessionFactory {
    private final OrtEnvironment env;
    private final OnnxModelLoader.Options options;
    private final ExecutionProvider provider;

    ConfiguredSessions(OnnxModelLoader.Options options, ExecutionProvider provider) {
        this.env = OrtRuntime.environment(options.threads());
        this.options = options;
        this.provider = provider;
    }

    @Override
    public OrtEnvironment env() {
        return env;
    }

    @Override
    public OnnxSession open(Path file, Map<String, long[]> wanted) throws InvalidModelException, ExecutionProviderException {
        if (!Files.isRegularFile(file)) throw new InvalidModelException("model file not found: " + file);
        SessionShapes shapes = shapes(GraphInputs.read(file), wanted, file);
        String modelKey = ModelKey.of(file);
        Path cacheDir = cacheDir(file, modelKey, shapes);
        if (cacheDir != null && Files.isRegularFile(cacheDir.resolve(COMPLETE))) {
            // Already optimised: optimising again would only cost time.
            OnnxSession s = create(cacheDir.resolve(MODEL), null, modelKey, shapes, OrtSession.SessionOptions.OptLevel.NO_OPT, null);
            s.setup(describe(shapes) + ", optimised model from the cache " + cacheDir);
            return s;
        }
        Path staging = null;
        if (cacheDir != null) {
            try {
                Files.createDirectories(cacheDir.getParent());
                staging = Files.createTempDirectory(cacheDir.getParent(), cacheDir.getFileName() + ".tmp-");
            } catch (IOException e) {
                throw new InvalidModelException("cannot create the optimised-model cache folder " + cacheDir.getParent()
                        + ": " + e.getMessage(), e);
            }
        }
        OnnxSession s;
        try {
            s = create(file, null, modelKey, shapes, options.optimization(), staging);
        } catch (InvalidModelException | ExecutionProviderException | RuntimeException e) {
            if (staging != null) deleteQuietly(staging);
            throw e;
        }
        if (staging != null) {
            commit(staging, cacheDir);
            s.setup(describe(shapes) + ", optimised model saved to " + cacheDir);
        } else {
            s.setup(describe(shapes));
        }
        return s;
    }

    @Override
    public OnnxSession open(byte[] model, Path origin, Map<String, long[]> wanted)
            throws InvalidModelException, ExecutionProviderException {
        SessionShapes shapes = shapes(GraphInputs.read(model, origin), wanted, origin);
        OnnxSession s = create(null, model, ModelKey.of(origin, "rewritten"), shapes, options.optimization(), null);
        s.setup(describe(shapes));
        return s;
    }

    private SessionShapes shapes(GraphInputs graph, Map<String, long[]> wanted, Path file) throws InvalidModelException {
        if (options.staticShapes() == null) return SessionShapes.dynamic(graph);
        try {
            return SessionShapes.resolve(graph, wanted, file);
        } catch (IllegalArgumentException e) {
            throw new InvalidModelException(e.getMessage(), e);
        }
    }

    private OnnxSession create(Path file, byte[] bytes, String modelKey, SessionShapes shapes,
                               OrtSession.SessionOptions.OptLevel level, Path saveTo)
            throws InvalidModelException, ExecutionProviderException {
        Path origin = file;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            OrtRuntime.applyThreading(so, options.threads());
            so.setOptimizationLevel(level);
            for (var e : shapes.symbolicValues().entrySet()) so.setSymbolicDimensionValue(e.getKey(), e.getValue());
            if (saveTo != null) {
                so.setOptimizedModelFilePath(saveTo.resolve(MODEL).toString());
                // Weights go to a file next to the graph: a full-size UNet is past protobuf's 2 GB limit.
                so.addConfigEntry("session.optimized_model_external_initializers_file_name", MODEL + "_data");
                so.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                // Saving at the highest level makes ONNX Runtime warn that the graph is specific to
                // this machine: expected here (the cache key names the runtime, provider and CPU), so
                // only this saving session logs at error level; loads from the cache and every run
                // without a cache keep the environment's warning level.
                so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            }
            ExecutionProviders.apply(so, provider, modelKey, shapes);
            OrtSession session = bytes != null ? env.createSession(bytes, so) : env.createSession(file.toString(), so);
            return OnnxSession.wrap(env, session, origin);
        } catch (OrtException e) {
            throw new InvalidModelException("ONNX Runtime cannot load " + origin + " (" + provider.key() + ", " + shapes + "): "
                    + e.getMessage(), e);
        }
    }

    private Path cacheDir(Path file, String modelKey, SessionShapes shapes) {
        if (options.optimizedModelCache() == null || !(provider instanceof ExecutionProvider.Cpu)) return null;
        String key = ModelKey.of(modelKey, shapes.key(), provider.key(), options.optimization().name(),
                OrtRuntime.version(), System.getProperty("os.arch", ""));
        return options.optimizedModelCache().resolve(file.getParent().getFileName() + "-" + key);
    }

    /** Moves a finished staging folder into place; a concurrent process that got there first wins. */
    private static void commit(Path staging, Path target) throws InvalidModelException {
        try {
            Files.writeString(staging.resolve(COMPLETE), "");
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                if (!Files.isRegularFile(target.resolve(COMPLETE))) throw raced;
                deleteTree(staging);
            }
        } catch (IOException e) {
            throw new InvalidModelException("cannot store the optimised model in " + target + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException ignored) {
            // a leftover staging folder is harmless: it never has the completion marker
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private String describe(SessionShapes shapes) {
        return provider.key() + ", " + (shapes.symbolicValues().isEmpty() ? "dynamic shapes" : "static shapes " + shapes);
    }

    private static final String MODEL = "model.onnx";
    private static final String COMPLETE = "complete";
}
