package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import io.streamdiffusion4j.model.VaeDecoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A VAE decoder on ONNX Runtime ({@code latent_sample -> sample}, or {@code latent -> images}),
 * with a reused input buffer and a pinned output; each call returns a new image tensor.
 */
public final class OrtVaeDecoder implements VaeDecoder {
    private static final Set<OnnxJavaType> FLOATS = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final OnnxSession session;
    private final Port latent;
    private final Port image;
    private final PinnedRun run;

    OrtVaeDecoder(OnnxSession session) throws InvalidModelException {
        this.session = session;
        try {
            latent = session.input("latents", List.of("latent_sample", "latent"), FLOATS, 4);
            image = session.output("images", List.of("sample", "images"), FLOATS, 4);
        } catch (InvalidModelException e) {
            session.close();
            throw e;
        }
        run = new PinnedRun(session, new Port[] {latent}, new Port[] {image});
    }

    /** @param latentChannels the latent channel count, or -1 to leave it as the graph has it */
    static Map<String, long[]> staticInputs(StaticShapes shapes, int latentChannels) {
        long[] dims = {shapes.decoderRows(), latentChannels, shapes.latentHeight(), shapes.latentWidth()};
        return Map.of("latent_sample", dims, "latent", dims);
    }

    /** The latent channel count when the graph fixes it, else -1. */
    int fixedLatentChannels() {
        return (int) latent.fixedDim(1);
    }

    @Override
    public synchronized FloatTensor decode(FloatTensor latents) {
        try {
            run.input(0, latents.shapeAsLongs()).writeFloats(latents.data());
            run.run();
            DirectTensor out = run.output(0);
            float[] images = new float[out.size()];
            out.readFloats(images);
            return new FloatTensor(images, OnnxTensors.intShape(out.shape()));
        } catch (OrtException e) {
            throw new IllegalStateException("VAE decoder " + session.file() + " failed on " + latents + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void decodeInto(FloatTensor latents, float[] images) {
        try {
            run.input(0, latents.shapeAsLongs()).writeFloats(latents.data());
            run.run();
            run.output(0).readFloats(images);
        } catch (OrtException e) {
            throw new IllegalStateException("VAE decoder " + session.file() + " failed on " + latents + ": " + e.getMessage(), e);
        }
    }

    OnnxSession session() {
        return session;
    }

    PinnedRun pinnedRun() {
        return run;
    }

    /** Time spent inside ONNX Runtime for this model. */
    public RunStats runStats() {
        return run.stats();
    }

    public String setup() {
        return session.setup();
    }

    @Override
    public synchronized void close() {
        run.close();
        session.close();
    }
}
