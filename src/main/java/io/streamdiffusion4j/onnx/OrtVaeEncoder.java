package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.VaeEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A VAE encoder on ONNX Runtime ({@code sample -> latent_sample}, or the TensorRT export's
 * {@code images -> latent}). A TAESD encoder is deterministic; an AutoencoderKL encoder either
 * returns its posterior ({@code latent_mean, latent_std}, as streamdiffusion4j's converter writes
 * it) or samples inside the graph (Optimum's export), which is rewritten to return its mean and
 * standard deviation ({@link VaeEncoderGraph}); the pipeline then samples with its own seed.
 * The image goes through a reused direct buffer and the outputs are pinned.
 */
public final class OrtVaeEncoder implements VaeEncoder {
    private static final Set<OnnxJavaType> FLOATS = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);
    /** Output names of an encoder that returns the latent posterior instead of a sample. */
    public static final String MEAN = "latent_mean";
    public static final String STD = "latent_std";

    private final OnnxSession session;
    private final Port latent;
    private final boolean posterior;
    private final PinnedRun run;

    private OrtVaeEncoder(OnnxSession session, Port input, Port latent, Port mean, Port std) {
        this.session = session;
        this.latent = latent;
        this.posterior = mean != null;
        this.run = new PinnedRun(session, new Port[] {input}, posterior ? new Port[] {mean, std} : new Port[] {latent});
    }

    static OrtVaeEncoder open(OrtEnvironment env, Path file, OrtSession.SessionOptions options) throws InvalidModelException {
        try {
            return open(SessionFactory.fixed(env, options), file, Map.of());
        } catch (InvalidModelException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("fixed session options add no provider and no cache", e);
        }
    }

    static Map<String, long[]> staticInputs(StaticShapes shapes) {
        long[] dims = {shapes.encoderRows(), 3, shapes.height(), shapes.width()};
        return Map.of("sample", dims, "images", dims);
    }

    static OrtVaeEncoder open(SessionFactory sessions, Path file, Map<String, long[]> wanted) throws IOException {
        OnnxSession probe = sessions.open(file, wanted);
        Port input;
        try {
            input = probe.input("images in [-1, 1]", List.of("sample", "images"), FLOATS, 4);
            // streamdiffusion4j's own AutoencoderKL export gives the posterior's mean and std directly
            if (probe.outputInfo().containsKey(MEAN) && probe.outputInfo().containsKey(STD)) {
                Port mean = probe.output("latent mean", List.of(MEAN), FLOATS, 4);
                Port std = probe.output("latent standard deviation", List.of(STD), FLOATS, 4);
                return new OrtVaeEncoder(probe, input, mean, mean, std);
            }
        } catch (InvalidModelException e) {
            probe.close();
            throw e;
        }
        Port latent;
        try {
            latent = probe.output("latents", List.of("latent_sample", "latent"), FLOATS, 4);
        } catch (InvalidModelException e) {
            probe.close();
            throw e;
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            probe.close();
            throw new InvalidModelException("cannot read " + file + ": " + e.getMessage(), e);
        }
        Optional<VaeEncoderGraph.Distribution> dist;
        try {
            dist = VaeEncoderGraph.exposeDistribution(bytes, file, latent.name());
        } catch (InvalidModelException e) {
            probe.close();
            throw e;
        }
        if (dist.isEmpty()) return new OrtVaeEncoder(probe, input, latent, null, null);
        probe.close();
        OnnxSession rewritten = sessions.open(dist.get().model(), file, wanted);
        try {
            Port mean = rewritten.output("latent mean", List.of(dist.get().mean()), FLOATS, -1);
            Port std = rewritten.output("latent standard deviation", List.of(dist.get().std()), FLOATS, -1);
            return new OrtVaeEncoder(rewritten, input, latent, withShape(mean, latent), withShape(std, latent));
        } catch (InvalidModelException e) {
            rewritten.close();
            throw e;
        }
    }

    /** The rewritten graph's extra outputs carry the sampled latent's type; their element type is what matters here. */
    private static Port withShape(Port p, Port like) {
        return new Port(p.name(), p.type(), like.shape());
    }

    /** The latent channel count when the graph fixes it, else -1. */
    int fixedLatentChannels() {
        return (int) latent.fixedDim(1);
    }

    @Override
    public synchronized LatentDistribution encode(FloatTensor images) {
        try {
            run.input(0, images.shapeAsLongs()).writeFloats(images.data());
            run.run();
            if (!posterior) return LatentDistribution.deterministic(read(run.output(0)));
            return new LatentDistribution(read(run.output(0)), read(run.output(1)));
        } catch (OrtException e) {
            throw new IllegalStateException("VAE encoder " + session.file() + " failed on " + images + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized boolean encodeInto(FloatTensor images, float[] mean, float[] std) {
        try {
            run.input(0, images.shapeAsLongs()).writeFloats(images.data());
            run.run();
            run.output(0).readFloats(mean);
            if (!posterior) return false;
            run.output(1).readFloats(std);
            return true;
        } catch (OrtException e) {
            throw new IllegalStateException("VAE encoder " + session.file() + " failed on " + images + ": " + e.getMessage(), e);
        }
    }

    private static FloatTensor read(DirectTensor t) {
        float[] v = new float[t.size()];
        t.readFloats(v);
        return new FloatTensor(v, OnnxTensors.intShape(t.shape()));
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
