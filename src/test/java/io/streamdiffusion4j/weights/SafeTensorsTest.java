package io.streamdiffusion4j.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @Test
    void roundTripsF32F16AndBf16(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("w.safetensors");
        float[] v = {1f, -2.5f, 0.333333f, 65504f};
        SafeTensors.write(f, List.of(
                new SafeTensors.Tensor("a", DType.F32, new int[] {2, 2}, v),
                new SafeTensors.Tensor("b", DType.F16, new int[] {4}, v),
                new SafeTensors.Tensor("c", DType.BF16, new int[] {4}, v)), Map.of("format", "pt"));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.names()).containsExactly("a", "b", "c");
            assertThat(st.shape("a")).containsExactly(2, 2);
            assertThat(st.floats("a")).containsExactly(v);
            assertThat(st.floats("b")).containsExactly(1f, -2.5f, Float.float16ToFloat(Float.floatToFloat16(0.333333f)), 65504f);
            float[] bf = st.floats("c");
            assertThat(bf[1]).isEqualTo(-2.5f);
            assertThat(Math.abs(bf[2] - 0.333333f)).isLessThan(2e-3f);
            assertThat(st.metadata()).containsEntry("format", "pt");
        }
    }

    private static Path raw(Path dir, String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, b.array());
        return f;
    }

    @Test
    void malformedFilesAreClearErrors(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> SafeTensors.open(raw(dir, "not json", 0))).hasMessageContaining("bad.safetensors")
                .hasMessageContaining("malformed");
        assertThatThrownBy(() -> SafeTensors.open(raw(dir,
                "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8)))
                .hasMessageContaining("tensor 'w'").hasMessageContaining("outside");
        assertThatThrownBy(() -> SafeTensors.open(raw(dir,
                "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 16]}}", 16)))
                .hasMessageContaining("tensor 'w'").hasMessageContaining("needs 12 bytes");
        assertThatThrownBy(() -> SafeTensors.open(raw(dir,
                "{\"w\": {\"dtype\": \"Q4\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 16)))
                .hasMessageContaining("unsupported dtype");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafeTensors.open(tiny)).hasMessageContaining("not a safetensors file");
        try (SafeTensors ok = SafeTensors.open(raw(dir, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4))) {
            assertThatThrownBy(() -> ok.floats("missing")).hasMessageContaining("no tensor named 'missing'");
        }
    }

    @Test
    void componentFoldersFindTheirWeights(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> WeightFiles.openFolder(dir)).hasMessageContaining("no weights in");
        Files.writeString(dir.resolve("pytorch_model.bin"), "pickle");
        assertThatThrownBy(() -> WeightFiles.openFolder(dir)).hasMessageContaining("pickle");
    }

    /**
     * A tensor read with floats() is unmapped before the call returns (not when the garbage
     * collector finds its buffer): converting a model tensor by tensor must not keep the whole
     * file's pages mapped into the process. Linux's /proc/self/maps lists the mappings.
     */
    @Test
    void floatsLeavesNothingMapped(@TempDir Path dir) throws Exception {
        Path maps = Path.of("/proc/self/maps");
        // the project builds and is tested on Linux (.ci/run): a missing maps file is a failure, not a skip
        assertThat(Files.isReadable(maps)).as("this test reads Linux's /proc/self/maps").isTrue();
        Path file = dir.resolve("mapped-once.safetensors");
        float[] v = new float[100_000];
        for (int i = 0; i < v.length; i++) v[i] = i * 0.5f;
        SafeTensors.write(file, List.of(new SafeTensors.Tensor("a", DType.F32, new int[] {v.length}, v)), Map.of());
        try (SafeTensors st = SafeTensors.open(file)) {
            float[] read = st.floats("a");
            assertThat(read).containsExactly(v);
            List<String> mapped = Files.readAllLines(maps).stream().filter(l -> l.endsWith(file.toString())).toList();
            assertThat(mapped).as("mappings of " + file + " after floats()").isEmpty();
        }
    }
}
