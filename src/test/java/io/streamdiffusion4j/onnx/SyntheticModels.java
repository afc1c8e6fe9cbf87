package io.streamdiffusion4j.onnx;

import com.google.protobuf.ByteString;
import io.streamdiffusion4j.onnx.proto.Onnx.AttributeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.NodeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.OperatorSetIdProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small hand-built ONNX models for loader tests: one Mul by a per-channel weight. */
final class SyntheticModels {
    private SyntheticModels() {}

    static ValueInfoProto tensor(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            if (d instanceof Integer i) shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(i));
            else shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(d.toString()));
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
                .build();
    }

    /**
     * {@code output = input * weight} with weight (1, channels, 1, 1) = 1, 2, 3, ...; the weight is
     * stored in {@code model.onnx_data} when {@code external}. Float16 models cast around the Mul.
     */
    static Path scaleModel(Path dir, String input, String output, int channels, boolean fp16, boolean external)
            throws IOException {
        Files.createDirectories(dir);
        int type = fp16 ? TensorProto.DataType.FLOAT16_VALUE : TensorProto.DataType.FLOAT_VALUE;
        ByteBuffer w = ByteBuffer.allocate(channels * (fp16 ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int c = 0; c < channels; c++) {
            if (fp16) w.putShort(Float.floatToFloat16(c + 1));
            else w.putFloat(c + 1);
        }
        TensorProto.Builder weight = TensorProto.newBuilder().setName("weight").setDataType(type)
                .addDims(1).addDims(channels).addDims(1).addDims(1);
        if (external) {
            Files.write(dir.resolve("model.onnx_data"), w.array());
            weight.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("model.onnx_data"))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(String.valueOf(w.capacity())));
        } else {
            weight.setRawData(ByteString.copyFrom(w.array()));
        }
        GraphProto graph = GraphProto.newBuilder().setName("scale")
                .addNode(NodeProto.newBuilder().setOpType("Mul").addInput(input).addInput("weight").addOutput(output))
                .addInitializer(weight)
                .addInput(tensor(input, type, "batch", channels, "height", "width"))
                .addOutput(tensor(output, type, "batch", channels, "height", "width"))
                .build();
        ModelProto model = ModelProto.newBuilder().setIrVersion(10).setProducerName("streamdiffusion4j-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
        Path file = dir.resolve("model.onnx");
        Files.write(file, model.toByteArray());
        return file;
    }

    /** An encoder that samples inside the graph like Optimum's: mean + exp(logvar / 2) * RandomNormalLike(mean). */
    static Path samplingEncoder(Path dir) throws IOException {
        Files.createDirectories(dir);
        int f = TensorProto.DataType.FLOAT_VALUE;
        TensorProto half = TensorProto.newBuilder().setName("half").setDataType(f)
                .setRawData(ByteString.copyFrom(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.5f).array()))
                .build();
        GraphProto graph = GraphProto.newBuilder().setName("sampling")
                // mean = sample, logvar = sample * 0.5, std = exp(logvar * 0.5)
                .addNode(NodeProto.newBuilder().setOpType("Identity").addInput("sample").addOutput("mean"))
                .addNode(NodeProto.newBuilder().setOpType("Mul").addInput("sample").addInput("half").addOutput("logvar"))
                .addNode(NodeProto.newBuilder().setOpType("Mul").addInput("logvar").addInput("half").addOutput("halflogvar"))
                .addNode(NodeProto.newBuilder().setOpType("Exp").addInput("halflogvar").addOutput("std"))
                .addNode(NodeProto.newBuilder().setOpType("RandomNormalLike").addInput("mean").addOutput("noise")
                        .addAttribute(AttributeProto.newBuilder().setName("dtype").setType(AttributeProto.AttributeType.INT).setI(1)))
                .addNode(NodeProto.newBuilder().setOpType("Cast").addInput("noise").addOutput("noise_f")
                        .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT).setI(1)))
                .addNode(NodeProto.newBuilder().setOpType("Mul").addInput("std").addInput("noise_f").addOutput("scaled"))
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("mean").addInput("scaled").addOutput("latent_sample"))
                .addInitializer(half)
                .addInput(tensor("sample", f, "batch", 4, "h", "w"))
                .addOutput(tensor("latent_sample", f, "batch", 4, "h", "w"))
                .build();
        ModelProto model = ModelProto.newBuilder().setIrVersion(10)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph).build();
        Path file = dir.resolve("model.onnx");
        Files.write(file, model.toByteArray());
        return file;
    }
}
