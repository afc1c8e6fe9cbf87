package io.streamdiffusion4j.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Makes an exported AutoencoderKL encoder deterministic. Optimum's {@code vae_encoder} returns
 * a sample {@code mean + std * RandomNormalLike(...)} drawn by ONNX Runtime, which no seed can
 * reproduce. The original pipeline draws that noise from its own seeded generator, so this
 * finds the {@code Add(mean, Mul(std, noise))} at the output and exposes {@code mean} and
 * {@code std} as extra graph outputs; the pipeline then samples with its torch-compatible
 * generator.
 */
final class VaeEncoderGraph {

    /** The rewritten model and the names of its mean and standard-deviation outputs. */
    record Distribution(byte[] model, String mean, String std) {}

    private VaeEncoderGraph() {}

    /** Empty when the graph draws no random numbers (a deterministic encoder such as TAESD). */
    static Optional<Distribution> exposeDistribution(byte[] modelBytes, Path origin, String outputName)
            throws InvalidModelException {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(modelBytes);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidModelException(origin + ": not a valid ONNX model: " + e.getMessage(), e);
        }
        GraphProto graph = model.getGraph();
        Map<String, NodeProto> producer = new HashMap<>();
        boolean random = false;
        for (NodeProto n : graph.getNodeList()) {
            for (String o : n.getOutputList()) producer.put(o, n);
            if (isRandom(n)) random = true;
        }
        if (!random) return Optional.empty();

        NodeProto add = skipIdentities(producer.get(outputName), producer);
        if (add != null && add.getOpType().equals("Add") && add.getInputCount() == 2) {
            for (int side = 0; side < 2; side++) {
                NodeProto mul = skipIdentities(producer.get(add.getInput(side)), producer);
                if (mul == null || !mul.getOpType().equals("Mul") || mul.getInputCount() != 2) continue;
                for (int m = 0; m < 2; m++) {
                    if (dependsOnRandom(mul.getInput(m), producer, 0)) {
                        String std = mul.getInput(1 - m);
                        String mean = add.getInput(1 - side);
                        return Optional.of(new Distribution(withOutputs(model, graph, outputName, mean, std), mean, std));
                    }
                }
            }
        }
        throw new InvalidModelException(origin + ": the VAE encoder draws random numbers inside the graph, but its output '"
                + outputName + "' is not the expected mean + std * noise, so the pipeline cannot sample it with its own seed");
    }

    private static boolean isRandom(NodeProto n) {
        String op = n.getOpType();
        return op.equals("RandomNormalLike") || op.equals("RandomNormal")
                || op.equals("RandomUniformLike") || op.equals("RandomUniform");
    }

    private static NodeProto skipIdentities(NodeProto n, Map<String, NodeProto> producer) {
        while (n != null && n.getOpType().equals("Identity") && n.getInputCount() == 1) n = producer.get(n.getInput(0));
        return n;
    }

    /** True when {@code tensor} is a random draw, possibly through casts and identities. */
    private static boolean dependsOnRandom(String tensor, Map<String, NodeProto> producer, int depth) {
        NodeProto n = producer.get(tensor);
        if (n == null || depth > 4) return false;
        if (isRandom(n)) return true;
        if ((n.getOpType().equals("Cast") || n.getOpType().equals("Identity")) && n.getInputCount() == 1) {
            return dependsOnRandom(n.getInput(0), producer, depth + 1);
        }
        return false;
    }

    private static byte[] withOutputs(ModelProto model, GraphProto graph, String like, String mean, String std) {
        ValueInfoProto template = null;
        for (ValueInfoProto v : graph.getOutputList()) if (v.getName().equals(like)) template = v;
        TypeProto type = template != null ? template.getType() : TypeProto.getDefaultInstance();
        GraphProto rewritten = graph.toBuilder()
                .addOutput(ValueInfoProto.newBuilder().setName(mean).setType(type))
                .addOutput(ValueInfoProto.newBuilder().setName(std).setType(type))
                .build();
        return model.toBuilder().setGraph(rewritten).build().toByteArray();
    }
}
