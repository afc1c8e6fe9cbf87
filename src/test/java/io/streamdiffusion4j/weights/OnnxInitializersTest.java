package io.streamdiffusion4j.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX initializers read as weights: a damaged model is an IOException naming the file and the
 * initializer, never an unchecked exception from deep inside (found by the onnx-proto fuzz target;
 * its inputs are kept under src/test/resources/fuzz/onnx-proto/).
 */
class OnnxInitializersTest {
    @TempDir
    Path dir;

    private static TensorProto.Builder floats(long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) t.addDims(d);
        return t;
    }

    private static ByteString raw(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return ByteString.copyFrom(b.array());
    }

    private OnnxInitializers model(TensorProto.Builder t) throws IOException {
        Path file = dir.resolve("sub").resolve("model.onnx");
        Files.createDirectories(file.getParent());
        Files.write(file, ModelProto.newBuilder().setGraph(GraphProto.newBuilder().addInitializer(t)).build().toByteArray());
        return OnnxInitializers.read(file, null);
    }

    @Test
    void readsRawFloatDataAndExternalData() throws IOException {
        assertThat(model(floats(2).setRawData(raw(1, 2))).floats("w")).containsExactly(1, 2);
        assertThat(model(floats(3).addFloatData(1).addFloatData(2).addFloatData(3)).floats("w")).containsExactly(1, 2, 3);
        Files.write(dir.resolve("sub").resolve("w.bin"), raw(0, 5, 6).toByteArray());
        OnnxInitializers external = model(floats(2).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", "w.bin")).addExternalData(entry("offset", "4")));
        assertThat(external.floats("w")).containsExactly(5, 6);
    }

    @Test
    void dataShorterThanTheShapeIsAnErrorNamingTheInitializer() throws IOException {
        assertThatThrownBy(() -> model(floats(2, 2).setRawData(raw(1, 2))).floats("w"))
                .isInstanceOf(IOException.class).hasMessageContaining("model.onnx: initializer 'w'")
                .hasMessageContaining("needs 16 bytes").hasMessageContaining("holds 8");
        assertThatThrownBy(() -> model(floats(5).addFloatData(1).addFloatData(2)).floats("w"))
                .isInstanceOf(IOException.class).hasMessageContaining("needs 5 values, float_data holds 2");
    }

    @Test
    void negativeOrHugeDimensionsAreErrors() throws IOException {
        assertThatThrownBy(() -> model(floats(-1).setRawData(raw(1))).floats("w"))
                .isInstanceOf(IOException.class).hasMessageContaining("negative dimension");
        assertThatThrownBy(() -> model(floats(1L << 40, 1L << 40).setRawData(raw(1))).floats("w"))
                .isInstanceOf(IOException.class).hasMessageContaining("too large");
        assertThatThrownBy(() -> model(floats(1L << 33).setRawData(raw(1))).shape("w"))
                .isInstanceOf(IOException.class).hasMessageContaining("dimension 8589934592");
    }

    @Test
    void externalDataMustStayInTheModelFolderAndHaveAValidOffset() throws IOException {
        Files.write(dir.resolve("outside.bin"), raw(1, 2).toByteArray());
        for (String location : new String[] {"../outside.bin", dir.resolve("outside.bin").toString(), "a\0b"}) {
            assertThatThrownBy(() -> model(floats(2).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", location))).floats("w"))
                    .isInstanceOf(IOException.class).hasMessageContaining("initializer 'w' has external data location");
        }
        Files.write(dir.resolve("sub").resolve("w.bin"), raw(1, 2).toByteArray());
        for (String offset : new String[] {"x", "-4", "9223372036854775807"}) {
            assertThatThrownBy(() -> model(floats(2).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", "w.bin")).addExternalData(entry("offset", offset))).floats("w"))
                    .isInstanceOf(IOException.class).hasMessageContaining("initializer 'w'");
        }
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
