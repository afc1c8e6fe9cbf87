package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.files.CacheEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Opens sessions as {@link OnnxModelLoader.Options} say: on the shared thread pools, with the
 * selected execution provider, static shapes when the pipeline configuration is known, and an
 * optimised-model cache.
 *
 * <p>The cache: graph optimisation (constant folding, operator fusion, the CPU's blocked NCHWc
 * layout) is redone on every start and takes seconds for a full-size UNet. With a cache folder
 * the first load saves the optimised graph (weights in external data next to it), keyed by the
 * model files, the static shapes, the provider, the optimisation level, the ONNX Runtime version
 * and the CPU architecture ({@link OptimizedModelKey}); later loads read it with optimisation off.
 * Only for the CPU provider: the saved graph at the highest level is specific to the CPU it was
 * made on (ONNX Runtime warns about that when it writes it) and to the provider that optimised it.
 * ONNX Runtime writes the graph into a staging folder, which is sealed with a manifest and moved
 * into place in one rename ({@link CacheEntry}); an entry that does not match its manifest, or
 * that ONNX Runtime cannot load, is rebuilt once from the model, with a notice saying so.
 */
final class ConfiguredSessions implements SessionFactory {
    private final OrtEnvironment env;
    private final OnnxModelLoader.Options options;
    private final ExecutionProvider provider;
    private final Opener opener;

    /**
     * Where the finished {@link OrtSession.SessionOptions} are handed to ONNX Runtime: the one
     * place that sees exactly what a session was given (tests look there).
     */
    @FunctionalInterface
    interface Opener {
        /** @param file the model file, or null when {@code bytes} holds the model */
        OrtSession open(OrtEnvironment env, Path file, byte[] bytes, OrtSession.SessionOptions options) throws OrtException;

        Opener DIRECT = (env, file, bytes, so) -> bytes != null ? env.createSession(bytes, so) : env.createSession(file.toString(), so);
    }

    ConfiguredSessions(OnnxModelLoader.Options options, ExecutionProvider provider) {
        this(options, provider, Opener.DIRECT);
    }

    ConfiguredSessions(OnnxModelLoader.Options options, ExecutionProvider provider, Opener opener) {
        this.env = OrtRuntime.environment(options.threads());
        this.options = options;
        this.provider = provider;
        this.opener = opener;
    }

    @Override
    public OrtEnvironment env() {
        return env;
    }

    @Override
    public OnnxSession open(Path file, Map<String, long[]> wanted) throws IOException {
        if (!Files.isRegularFile(file)) throw new InvalidModelException("model file not found: " + file);
        SessionShapes shapes = shapes(GraphInputs.read(file), wanted, file);
        return openCached(file, null, ModelKey.of(file), shapes);
    }

    @Override
    public OnnxSession open(byte[] model, Path origin, Map<String, long[]> wanted)
            throws InvalidModelException, ExecutionProviderException {
        SessionShapes shapes = shapes(GraphInputs.read(model, origin), wanted, origin);
        OnnxSession s = create(origin, model, ModelKey.of(origin, "rewritten"), shapes, options.optimization(), null);
        s.setup(describe(shapes));
        return s;
    }

    @Override
    public OnnxSession open(byte[] model, Path origin, String variant, Map<String, long[]> wanted) throws IOException {
        SessionShapes shapes = shapes(GraphInputs.read(model, origin), wanted, origin);
        return openCached(origin, model, ModelKey.of(origin, "rewritten", variant), shapes);
    }

    /**
     * Opens {@code file} (or {@code bytes}, a rewrite of it), through the optimised-model cache
     * when there is one.
     */
    private OnnxSession openCached(Path file, byte[] bytes, String modelKey, SessionShapes shapes) throws IOException {
        Path cacheDir = cacheDir(file, modelKey, shapes);
        if (cacheDir == null) {
            OnnxSession s = create(file, bytes, modelKey, shapes, options.optimization(), null);
            s.setup(describe(shapes));
            return s;
        }
        if (Files.exists(cacheDir)) {
            String damage = CacheEntry.damage(cacheDir);
            if (damage == null) {
                try {
                    // Already optimised: optimising again would only cost time.
                    OnnxSession s = create(cacheDir.resolve(MODEL), null, modelKey, shapes,
                            OrtSession.SessionOptions.OptLevel.NO_OPT, null);
                    s.setup(describe(shapes) + ", optimised model from the cache " + cacheDir);
                    return s;
                } catch (InvalidModelException e) {
                    damage = "ONNX Runtime cannot load it: " + e.getMessage();
                }
            }
            options.notices().accept("the optimised model of " + file + " in the cache is damaged (" + damage
                    + "); rebuilding " + cacheDir);
            try {
                CacheEntry.discard(cacheDir);
            } catch (IOException e) {
                throw new IOException(e.getMessage() + "; delete that folder and run again", e);
            }
        }
        Path staging;
        try {
            staging = CacheEntry.stage(cacheDir);
        } catch (IOException e) {
            throw new IOException("cannot create the optimised-model cache folder " + cacheDir.getParent()
                    + ": " + e.getMessage(), e);
        }
        OnnxSession s;
        try {
            s = create(file, bytes, modelKey, shapes, options.optimization(), staging);
        } catch (InvalidModelException | ExecutionProviderException | RuntimeException e) {
            CacheEntry.deleteQuietly(staging);
            throw e;
        }
        try {
            CacheEntry.commit(staging, cacheDir);
        } catch (IOException e) {
            s.close();
            throw new IOException("cannot store the optimised model in " + cacheDir + ": " + e.getMessage(), e);
        }
        s.setup(describe(shapes) + ", optimised model saved to " + cacheDir);
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

    /** @param file the model file, or with {@code bytes} the file they were rewritten from */
    private OnnxSession create(Path file, byte[] bytes, String modelKey, SessionShapes shapes,
                               OrtSession.SessionOptions.OptLevel level, Path saveTo)
            throws InvalidModelException, ExecutionProviderException {
        Path origin = file;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            if (bytes != null && file != null && file.toAbsolutePath().getParent() != null) {
                // A rewritten graph keeps its weights' external-data references, relative to the
                // original's folder (or, in a Hub snapshot of links, to the real files).
                ExternalDataFolder home = ExternalDataFolder.of(bytes, file.toAbsolutePath().getParent());
                bytes = home.model();
                so.addConfigEntry("session.model_external_initializers_file_folder_path", home.folder().toString());
            }
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
            return OnnxSession.wrap(env, opener.open(env, bytes != null ? null : file, bytes, so), origin);
        } catch (OrtException e) {
            throw new InvalidModelException("ONNX Runtime cannot load " + origin + " (" + provider.key() + ", " + shapes + "): "
                    + e.getMessage(), e);
        }
    }

    private Path cacheDir(Path file, String modelKey, SessionShapes shapes) {
        if (options.optimizedModelCache() == null || !(provider instanceof ExecutionProvider.Cpu)) return null;
        return options.optimizedModelCache().resolve(
                OptimizedModelKey.of(modelKey, shapes, provider, options.optimization()).folderName(file));
    }

    private String describe(SessionShapes shapes) {
        return provider.key() + ", " + (shapes.symbolicValues().isEmpty() ? "dynamic shapes" : "static shapes " + shapes);
    }

    private static final String MODEL = "model.onnx";
}
