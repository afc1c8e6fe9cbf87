package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
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
 */
public final class OrtVaeEncoder implements VaeEncoder {
    private static final Set<OnnxJavaType> FLOATS = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);
    /** Output names of an encoder that returns the latent posterior instead of a sample. */
    public static final String MEAN = "latent_mean";
    public static final String STD = "latent_std";

    private final OnnxSession session;
    private final Port input;
    private final Port latent;
    private final String meanOutput;
    private final String stdOutput;

    private OrtVaeEncoder(OnnxSession session, Port input, Port latent, String meanOutput, String stdOutput) {
        this.session = session;
        this.input = input;
        this.latent = latent;
        this.meanOutput = meanOutput;
        this.stdOutput = stdOutput;
    }

    static OrtVaeEncoder open(OrtEnvironment env, Path file, OrtSession.SessionOptions options) throws InvalidModelException {
        OnnxSession probe = OnnxSession.open(env, file, options);
        Port input;
        try {
            input = probe.input("images in [-1, 1]", List.of("sample", "images"), FLOATS, 4);
            // streamdiffusion4j's own AutoencoderKL export gives the posterior's mean and std directly
            if (probe.outputInfo().containsKey(MEAN) && probe.outputInfo().containsKey(STD)) {
                Port mean = probe.output("latent mean", List.of(MEAN), FLOATS, 4);
                probe.output("latent standard deviation", List.of(STD), FLOATS, 4);
                return new OrtVaeEncoder(probe, input, mean, MEAN, STD);
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
        OnnxSession rewritten = OnnxSession.open(env, dist.get().model(), file, options);
        return new OrtVaeEncoder(rewritten, input, latent, dist.get().mean(), dist.get().std());
    }

    /** The latent channel count when the graph fixes it, else -1. */
    int fixedLatentChannels() {
        return (int) latent.fixedDim(1);
    }

    @Override
    public LatentDistribution encode(FloatTensor images) {
        Set<String> wanted = meanOutput == null ? Set.of(latent.name()) : Set.of(meanOutput, stdOutput);
        try (OnnxTensor in = OnnxTensors.floats(session.env(), input, images);
             OrtSession.Result r = session.session().run(Map.of(input.name(), in), wanted)) {
            if (meanOutput == null) {
                return LatentDistribution.deterministic(OnnxTensors.read((OnnxTensor) r.get(latent.name()).orElseThrow()));
            }
            return new LatentDistribution(
                    OnnxTensors.read((OnnxTensor) r.get(meanOutput).orElseThrow()),
                    OnnxTensors.read((OnnxTensor) r.get(stdOutput).orElseThrow()));
        } catch (OrtException e) {
            throw new IllegalStateException("VAE encoder " + session.file() + " failed on " + images + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
