package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The UNet on ONNX Runtime. Accepts Optimum's names ({@code sample, timestep,
 * encoder_hidden_states -> out_sample}) and StreamDiffusion's TensorRT export's
 * ({@code ... -> latent}); float32 or float16 latents, int64/int32/float timesteps, one per row.
 */
public final class OrtUnet implements Unet {
    private static final Set<OnnxJavaType> FLOATS = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);

    private final OnnxSession session;
    private final Port sample;
    private final Port timestep;
    private final Port hiddenStates;
    private final Port output;
    private final int channels;
    private final int crossAttentionDim;

    OrtUnet(OnnxSession session, ComponentConfig config) throws InvalidModelException {
        this.session = session;
        try {
            sample = session.input("noisy latents", List.of("sample"), FLOATS, 4);
            timestep = session.input("one timestep per batch row", List.of("timestep"),
                    Set.of(OnnxJavaType.INT64, OnnxJavaType.INT32, OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16), 1);
            hiddenStates = session.input("prompt embeddings", List.of("encoder_hidden_states"), FLOATS, 3);
            output = session.output("predicted noise", List.of("out_sample", "latent"), FLOATS, 4);
            channels = dimension(sample, 1, config, "in_channels");
            crossAttentionDim = dimension(hiddenStates, 2, config, "cross_attention_dim");
        } catch (InvalidModelException e) {
            session.close();
            throw e;
        }
    }

    private int dimension(Port port, int axis, ComponentConfig config, String key) throws InvalidModelException {
        long fixed = port.fixedDim(axis);
        int configured = config.intValue(key);
        if (fixed > 0 && configured > 0 && fixed != configured) {
            throw new InvalidModelException(session.file() + ": input '" + port.name() + "' has " + fixed + " at axis " + axis
                    + " but " + config.file() + " says " + key + " = " + configured);
        }
        if (fixed > 0) return (int) fixed;
        if (configured > 0) return configured;
        throw new InvalidModelException(session.file() + ": the size of axis " + axis + " of '" + port.name()
                + "' is dynamic and " + config.file() + " has no '" + key + "'");
    }

    @Override
    public FloatTensor predictNoise(FloatTensor x, long[] timesteps, FloatTensor encoderHiddenStates) {
        if (timesteps.length != x.rows() || encoderHiddenStates.rows() != x.rows()) {
            throw new IllegalArgumentException("UNet batch mismatch: " + x.rows() + " sample rows, " + timesteps.length
                    + " timesteps, " + encoderHiddenStates.rows() + " embedding rows");
        }
        try (OnnxTensor s = OnnxTensors.floats(session.env(), sample, x);
             OnnxTensor t = OnnxTensors.integers(session.env(), timestep, timesteps, new long[] {timesteps.length});
             OnnxTensor h = OnnxTensors.floats(session.env(), hiddenStates, encoderHiddenStates);
             OrtSession.Result r = session.session().run(
                     Map.of(sample.name(), s, timestep.name(), t, hiddenStates.name(), h), Set.of(output.name()))) {
            return OnnxTensors.read((OnnxTensor) r.get(output.name()).orElseThrow());
        } catch (OrtException e) {
            throw new IllegalStateException("UNet " + session.file() + " failed on " + x + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int latentChannels() {
        return channels;
    }

    @Override
    public int crossAttentionDim() {
        return crossAttentionDim;
    }

    @Override
    public void close() {
        session.close();
    }
}
