package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The UNet on ONNX Runtime. Accepts Optimum's names ({@code sample, timestep,
 * encoder_hidden_states -> out_sample}) and StreamDiffusion's TensorRT export's
 * ({@code ... -> latent}); float32 or float16 latents, int64/int32/float timesteps, one per row.
 * Inputs go through reused direct buffers and the output is pinned (see {@link PinnedRun}), so
 * {@link #predictNoiseInto} allocates nothing per call once the shapes are steady. Calls are
 * synchronized: streams sharing the model take turns on its buffers (closing waits for a call
 * in flight).
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
    private final PinnedRun run;
    // False for a view made by withOwnBuffers: the session belongs to the UNet it was made from.
    private final boolean ownsSession;
    // Shapes of the last call, kept to avoid building shape arrays on every call.
    private final long[] sampleShape = new long[4];
    private final long[] timestepShape = new long[1];
    private final long[] hiddenShape = new long[3];

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
        run = new PinnedRun(session, new Port[] {sample, timestep, hiddenStates}, new Port[] {output});
        ownsSession = true;
    }

    private OrtUnet(OrtUnet source) {
        session = source.session;
        sample = source.sample;
        timestep = source.timestep;
        hiddenStates = source.hiddenStates;
        output = source.output;
        channels = source.channels;
        crossAttentionDim = source.crossAttentionDim;
        run = source.run.sibling();
        ownsSession = false;
    }

    /**
     * The same session with input and output buffers of its own. Streams with different batch
     * shapes that take turns on one session (the benchmark's alternated configurations) would
     * otherwise replace each other's buffers and unpin the outputs on every switch, a cost that
     * falls on whichever runs after a switch. Closing the view frees only its buffers; it must
     * be closed before this UNet.
     */
    public OrtUnet withOwnBuffers() {
        return new OrtUnet(this);
    }

    /**
     * The input sizes a stream with {@code shapes} feeds. Channel counts come from the UNet's
     * config.json when the graph leaves them symbolic (-1 when neither says: left dynamic).
     */
    static Map<String, long[]> staticInputs(StaticShapes shapes, ComponentConfig config) throws InvalidModelException {
        long rows = shapes.unetRows();
        return Map.of(
                "sample", new long[] {rows, config.intValue("in_channels"), shapes.latentHeight(), shapes.latentWidth()},
                "timestep", new long[] {rows},
                "encoder_hidden_states", new long[] {rows, StaticShapes.TEXT_SEQUENCE, config.intValue("cross_attention_dim")});
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
    public synchronized FloatTensor predictNoise(FloatTensor x, long[] timesteps, FloatTensor encoderHiddenStates) {
        float[] eps = new float[x.size()];
        predictNoiseInto(x, timesteps, encoderHiddenStates, eps);
        return new FloatTensor(eps, x.shape());
    }

    @Override
    public synchronized void predictNoiseInto(FloatTensor x, long[] timesteps, FloatTensor encoderHiddenStates, float[] eps) {
        if (timesteps.length != x.rows() || encoderHiddenStates.rows() != x.rows()) {
            throw new IllegalArgumentException("UNet batch mismatch: " + x.rows() + " sample rows, " + timesteps.length
                    + " timesteps, " + encoderHiddenStates.rows() + " embedding rows");
        }
        if (eps.length != x.size()) {
            throw new IllegalArgumentException("the noise prediction of " + x + " needs " + x.size() + " values, found room for "
                    + eps.length);
        }
        try {
            for (int i = 0; i < 4; i++) sampleShape[i] = x.dim(i);
            timestepShape[0] = timesteps.length;
            for (int i = 0; i < 3; i++) hiddenShape[i] = encoderHiddenStates.dim(i);
            run.input(0, sampleShape).writeFloats(x.data());
            run.input(1, timestepShape).writeIntegers(timesteps);
            run.input(2, hiddenShape).writeFloats(encoderHiddenStates.data());
            run.run();
            DirectTensor out = run.output(0);
            if (out.size() != eps.length) {
                throw new IllegalStateException("UNet " + session.file() + " returned " + out.size() + " values for " + x
                        + ", expected the same shape as the sample");
            }
            out.readFloats(eps);
        } catch (OrtException e) {
            throw new IllegalStateException("UNet " + session.file() + " failed on " + x + ": " + e.getMessage(), e);
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

    /** How the session was set up (provider, shapes, cache). */
    public String setup() {
        return session.setup();
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
    public synchronized void close() {
        run.close();
        if (ownsSession) session.close();
    }
}
