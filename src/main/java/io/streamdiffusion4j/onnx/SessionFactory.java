package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Opens the sessions of one model load. The components say which input dimensions the
 * pipeline will feed ({@code wanted}: input name to one size per axis, -1 for "leave dynamic");
 * a factory with static shapes fixes them, one without ignores them.
 */
interface SessionFactory {

    OrtEnvironment env();

    /**
     * @throws InvalidModelException the model cannot be used
     * @throws ExecutionProviderException the provider cannot run here
     * @throws IOException anything else (for example the optimised-model cache cannot be written)
     */
    OnnxSession open(Path file, Map<String, long[]> wanted) throws IOException;

    /** A model given as bytes (a rewritten graph); {@code origin} names it in errors. */
    OnnxSession open(byte[] model, Path origin, Map<String, long[]> wanted) throws IOException;

    /**
     * A rewritten graph that is worth keeping optimised: {@code variant} tells the rewrites of one
     * file apart in the optimised-model cache. Factories without a cache open it as any rewrite.
     */
    default OnnxSession open(byte[] model, Path origin, String variant, Map<String, long[]> wanted) throws IOException {
        return open(model, origin, wanted);
    }

    /** Every session with the same caller-owned options, as they are (the test and low-level path). */
    static SessionFactory fixed(OrtEnvironment env, OrtSession.SessionOptions options) {
        return new SessionFactory() {
            @Override
            public OrtEnvironment env() {
                return env;
            }

            @Override
            public OnnxSession open(Path file, Map<String, long[]> wanted) throws InvalidModelException {
                return OnnxSession.open(env, file, options);
            }

            @Override
            public OnnxSession open(byte[] model, Path origin, Map<String, long[]> wanted) throws InvalidModelException {
                return OnnxSession.open(env, model, origin, options);
            }
        };
    }
}
