package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import java.io.InputStream;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The external-data writer: exact bytes at the recorded offsets, one weight held at a time. */
class OnnxWriterTest {

    /** Values of weight {@code k}: distinct per weight and index, exact in float16 too (small integers / 4). */
    private static float[] values(int k, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = ((i * 7 + k * 13) % 2001 - 1000) / 4f;
        return v;
    }

    @Test
    void writesEachWeightExactlyAtItsOffset(@TempDir Path dir) throws Exception {
        for (boolean half : new boolean[] {false, true}) {
            // sizes that cross the writer's 1 MiB buffer and break the 64-byte alignment
            int[] sizes = {3, 300_001, 17, 600_000};
            OnnxGraph g = new OnnxGraph("t", half);
            for (int k = 0; k < sizes.length; k++) {
                int kk = k;
                g.weight("w" + k, new int[] {sizes[k]}, () -> values(kk, sizes[kk]));
            }
            Path out = dir.resolve(half ? "half" : "float");
            OnnxWriter.write(g, out, null);
            ModelProto m;
            try (InputStream in = Files.newInputStream(out.resolve("model.onnx"))) {
                m = ModelProto.parseFrom(in);
            }
            byte[] data = Files.readAllBytes(out.resolve("model.onnx_data"));
            List<TensorProto> inits = m.getGraph().getInitializerList();
            assertThat(inits).hasSize(sizes.length);
            long end = 0;
            for (int k = 0; k < sizes.length; k++) {
                TensorProto t = inits.get(k);
                Map<String, String> ext = t.getExternalDataList().stream()
                        .collect(Collectors.toMap(StringStringEntryProto::getKey, StringStringEntryProto::getValue));
                int offset = Integer.parseInt(ext.get("offset"));
                int length = Integer.parseInt(ext.get("length"));
                assertThat(offset % 64).isZero();
                assertThat(length).isEqualTo(sizes[k] * (half ? 2 : 4));
                for (long p = end; p < offset; p++) assertThat(data[(int) p]).as("padding").isZero();
                ByteBuffer b = ByteBuffer.wrap(data, offset, length).order(ByteOrder.LITTLE_ENDIAN);
                float[] expected = values(k, sizes[k]);
                for (int i = 0; i < sizes[k]; i++) {
                    float found = half ? Float.float16ToFloat(b.getShort()) : b.getFloat();
                    if (found != expected[i]) {
                        throw new AssertionError("w" + k + "[" + i + "]: " + found + " != " + expected[i] + (half ? " (half)" : ""));
                    }
                }
                end = offset + length;
            }
            assertThat(data).hasSize((int) end);
        }
    }

    /**
     * While a weight's values are produced, no earlier weight's values are still reachable: the
     * writer holds one tensor at a time, so converting needs memory for the largest tensor, not
     * for the model. (Each supplier collects garbage and checks weak references to the arrays the
     * earlier suppliers returned.)
     */
    @Test
    void holdsNoEarlierWeightWhileProducingTheNext(@TempDir Path dir) throws Exception {
        OnnxGraph g = new OnnxGraph("t", false);
        List<WeakReference<float[]>> produced = new ArrayList<>();
        List<Integer> stillHeld = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            int kk = k;
            g.weight("w" + k, new int[] {1 << 20}, () -> {
                stillHeld.add(heldAfterGc(produced));
                float[] v = values(kk, 1 << 20);
                produced.add(new WeakReference<>(v));
                return v;
            });
        }
        OnnxWriter.write(g, dir, null);
        assertThat(stillHeld).as("earlier weights reachable when each weight is produced").containsOnly(0);
        assertThat(produced).hasSize(6);
    }

    private static int heldAfterGc(List<WeakReference<float[]>> refs) {
        int held = 0;
        for (int attempt = 0; attempt < 20; attempt++) {
            System.gc();
            held = (int) refs.stream().filter(r -> r.get() != null).count();
            if (held == 0) return 0;
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return held;
            }
        }
        return held;
    }
}
