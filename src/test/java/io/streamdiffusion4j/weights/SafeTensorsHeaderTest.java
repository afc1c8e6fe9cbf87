package io.streamdiffusion4j.weights;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Header values that used to be read loosely: a shape whose element count overflows (it wrapped
 * to a small number that matched the data), and fractions or strings where whole numbers belong
 * (they were truncated or parsed).
 */
class SafeTensorsHeaderTest {
    @TempDir
    Path dir;

    private Path file(String tensor, int dataBytes) throws IOException {
        byte[] h = ("{\"w\": " + tensor + "}").getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve("h.safetensors");
        Files.write(f, ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array());
        return f;
    }

    @Test
    void aShapeWhoseElementCountOverflowsIsRefused() {
        // 65536^4 = 2^64 wrapped to 0 elements, which matched empty data_offsets
        assertThatThrownBy(() -> SafeTensors.open(file(
                "{\"dtype\": \"F32\", \"shape\": [65536, 65536, 65536, 65536], \"data_offsets\": [0, 0]}", 0)))
                .isInstanceOf(IOException.class).hasMessageContaining("tensor 'w'").hasMessageContaining("more elements");
        // 2^62 elements of 4 bytes wrapped to 0 bytes
        assertThatThrownBy(() -> SafeTensors.open(file(
                "{\"dtype\": \"F32\", \"shape\": [2147483647, 2147483647, 2], \"data_offsets\": [0, 0]}", 0)))
                .isInstanceOf(IOException.class).hasMessageContaining("tensor 'w'");
    }

    @Test
    void fractionsAndStringsAreNotWholeNumbers() {
        assertThatThrownBy(() -> SafeTensors.open(file("{\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}", 8)))
                .isInstanceOf(IOException.class).hasMessageContaining("bad shape [2.5]");
        assertThatThrownBy(() -> SafeTensors.open(file("{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\", \"4\"]}", 4)))
                .isInstanceOf(IOException.class).hasMessageContaining("data_offsets must be two whole numbers");
        assertThatThrownBy(() -> SafeTensors.open(file("{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4.9]}", 8)))
                .isInstanceOf(IOException.class).hasMessageContaining("data_offsets must be two whole numbers");
    }
}
