package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.model.VaeDecoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A VAE decoder on ONNX Runtime ({@code latent_sample -> sample}, or {@code latent -> images}). */
public final class OrtVaeDecoder implements VaeDecoder {
    private static final Set<OnnxJavaType> FLOATS = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final OnnxSession session;
    private final Port latent;
    private final Port image;

    OrtVaeDecoder(OnnxSession session) throws InvalidModelException {
        this.session = session;
        try {
            latent = session.input("latents", List.of("latent_sample", "latent"), FLOATS, 4);
            image = session.output("images", List.of("sample", "images"), FLOATS, 4);
        } catch (InvalidModelException e) {
            session.close();
            throw e;
        }
    }

    /** The latent channel count when the graph fixes it, else -1. */
    int fixedLatentChannels() {
        return (int) latent.fixedDim(1);
    }

    @Override
    public FloatTensor decode(FloatTensor latents) {
        try (OnnxTensor in = OnnxTensors.floats(session.env(), latent, latents);
             OrtSession.Result r = session.session().run(Map.of(latent.name(), in), Set.of(image.name()))) {
            return OnnxTensors.read((OnnxTensor) r.get(image.name()).orElseThrow());
        } catch (OrtException e) {
            throw new IllegalStateException("VAE decoder " + session.file() + " failed on " + latents + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
