package io.streamdiffusion4j.testing;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;

import io.streamdiffusion4j.convert.OnnxGraph;
import io.streamdiffusion4j.convert.OnnxWriter;
import io.streamdiffusion4j.model.ControlNetNames;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Small ONNX models with the ControlNet contract's names ({@link ControlNetNames}), for testing
 * the ONNX Runtime path end to end before the ControlNet converter's real graphs exist. They are
 * NOT ControlNets: the "ControlNet" pools the control image to the latent grid and gives
 * {@code scale * (mean(control) + 0.1 mean(sample)) * (i + 1) / N} as every residual (one
 * channel each), and the "UNet with control" is a plain UNet graph whose output gets the channel
 * means of the residuals added ({@code out_sample + sum_i mean_c(res_i)}), so zero residuals add
 * exactly 0 and a control image changes the output where it has structure.
 */
public final class ControlNetTestModels {
    public static final int DOWN = ControlNetNames.SD_DOWN_RESIDUALS;

    private ControlNetTestModels() {}

    /** Writes {@code dir/model.onnx}, a ControlNet-shaped graph for latents of {@code channels} and embeddings of {@code crossDim}. */
    public static Path controlNet(Path dir, int channels, int crossDim) throws IOException {
        OnnxGraph g = new OnnxGraph("controlnet-stand-in", false);
        OnnxGraph.Value sample = g.floatInput(ControlNetNames.SAMPLE, "batch", channels, "h", "w");
        g.input(ControlNetNames.TIMESTEP, TensorProto.DataType.INT64_VALUE, "batch");
        g.floatInput(ControlNetNames.ENCODER_HIDDEN_STATES, "batch", "sequence", crossDim);
        OnnxGraph.Value cond = g.floatInput(ControlNetNames.CONTROLNET_COND, "batch", 3, "height", "width");
        OnnxGraph.Value scale = g.floatInput(ControlNetNames.CONDITIONING_SCALE, 1);
        OnnxGraph.Value pooled = g.op("AveragePool", List.of(cond), attr("kernel_shape", new long[] {8, 8}),
                attr("strides", new long[] {8, 8}));
        OnnxGraph.Value c = g.op("ReduceMean", List.of(pooled), attr("axes", new long[] {1}), attr("keepdims", 1L));
        OnnxGraph.Value s = g.op("ReduceMean", List.of(sample), attr("axes", new long[] {1}), attr("keepdims", 1L));
        OnnxGraph.Value base = g.op("Mul", g.op("Add", c, g.op("Mul", s, g.scalar(0.1f))), scale);
        for (int i = 0; i < DOWN; i++) {
            g.floatOutput(ControlNetNames.downResidual(i), g.op("Mul", base, g.scalar((i + 1f) / DOWN)), "batch", 1, "h", "w");
        }
        g.floatOutput(ControlNetNames.MID_RESIDUAL, g.op("Mul", base, g.scalar(0.5f)), "batch", 1, "h", "w");
        OnnxWriter.write(g, dir, null);
        return dir.resolve("model.onnx");
    }

    /**
     * Copies the UNet folder {@code unetDir} (model.onnx, its external data, config.json) to
     * {@code to}, with residual inputs added to the graph as the class comment says.
     */
    public static Path unetWithControl(Path unetDir, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(unetDir)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("model.onnx")) Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        ModelProto model = ModelProto.parseFrom(Files.readAllBytes(unetDir.resolve("model.onnx")));
        GraphProto.Builder g = model.getGraph().toBuilder();
        String out = g.getOutput(0).getName();
        String plain = out + "_without_control";
        for (int n = 0; n < g.getNodeCount(); n++) {
            NodeProto node = g.getNode(n);
            for (int k = 0; k < node.getOutputCount(); k++) {
                if (node.getOutput(k).equals(out)) g.setNode(n, node.toBuilder().setOutput(k, plain));
            }
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < DOWN; i++) names.add(ControlNetNames.downResidual(i));
        names.add(ControlNetNames.MID_RESIDUAL);
        String sum = null;
        for (String name : names) {
            g.addInput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                    TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(TensorShapeProto.newBuilder()
                            .addDim(dim("res_batch")).addDim(dim("res_c")).addDim(dim("res_h")).addDim(dim("res_w"))))));
            String mean = name + "_mean";
            g.addNode(NodeProto.newBuilder().setOpType("ReduceMean").setName(mean).addInput(name).addOutput(mean)
                    .addAttribute(AttributeProto.newBuilder().setName("axes").setType(AttributeProto.AttributeType.INTS).addInts(1))
                    .addAttribute(AttributeProto.newBuilder().setName("keepdims").setType(AttributeProto.AttributeType.INT).setI(1)));
            if (sum == null) {
                sum = mean;
            } else {
                String next = name + "_sum";
                g.addNode(NodeProto.newBuilder().setOpType("Add").setName(next).addInput(sum).addInput(mean).addOutput(next));
                sum = next;
            }
        }
        g.addNode(NodeProto.newBuilder().setOpType("Add").setName("add_control").addInput(plain).addInput(sum).addOutput(out));
        Files.write(to.resolve("model.onnx"), model.toBuilder().setGraph(g).build().toByteArray());
        return to.resolve("model.onnx");
    }

    /**
     * A copy of the built-in tiny model in {@code dir/tiny} with a UNet made with residual inputs
     * in {@code unet_control/} (see {@link #unetWithControl}).
     */
    public static Path tinyWithControl(Path dir) throws IOException {
        Path tiny = io.streamdiffusion4j.convert.ModelStore.defaultStore()
                .builtInTiny(io.streamdiffusion4j.convert.DiffusersConverter.Progress.NONE);
        Path copy = dir.resolve("tiny");
        try (Stream<Path> all = Files.walk(tiny)) {
            for (Path p : all.toList()) {
                Path to = copy.resolve(tiny.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(to);
                else Files.copy(p, to);
            }
        }
        unetWithControl(copy.resolve("unet"), copy.resolve("unet_control"));
        return copy;
    }

    private static TensorShapeProto.Dimension dim(String param) {
        return TensorShapeProto.Dimension.newBuilder().setDimParam(param).build();
    }
}
