package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.OrtRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plain UNet rebuilt the way an IP-Adapter's UNet is built (the bench's baseline for the
 * adapter's cost), on the built-in tiny model: it must be the converted UNet again, graph and
 * outputs, so that the adapter's arm differs from it only by the adapter.
 */
class IpAdapterStoreTest {
    @TempDir
    static Path cache;
    private static Path onnx;

    @BeforeAll
    static void convert() throws Exception {
        onnx = ModelStore.defaultStore().builtInTiny(DiffusersConverter.Progress.NONE);
    }

    private static FloatTensor wave(double a, int... shape) {
        float[] v = new float[(int) FloatTensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(a * i + 0.3);
        return new FloatTensor(v, shape);
    }

    private static Map<String, Object> inputs() throws Exception {
        UnetConfig c = UnetConfig.read(onnx.resolve("unet/config.json"));
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("sample", wave(0.21, 2, c.inChannels(), 8, 8));
        in.put("timestep", new long[] {999, 500});
        in.put("encoder_hidden_states", wave(0.173, 2, 77, c.crossAttentionDim()));
        return in;
    }

    @Test
    void theRebuiltPlainUnetIsTheConvertedUnetAgain() throws Exception {
        Path rebuilt = IpAdapterStore.rebuiltPlainUnet(cache, onnx, DiffusersConverter.Progress.NONE);
        assertThat(rebuilt).startsWith(cache);
        // the same graph, node for node: the weights read back (transposes undone) and built again give the same file
        assertThat(Files.readAllBytes(rebuilt.resolve("model.onnx"))).isEqualTo(Files.readAllBytes(onnx.resolve("unet/model.onnx")));
        assertThat(Files.readString(rebuilt.resolve("config.json"))).isEqualTo(Files.readString(onnx.resolve("unet/config.json")));
        float[] converted = OrtRunner.run(onnx.resolve("unet/model.onnx"), inputs()).get("out_sample").data();
        float[] again = OrtRunner.run(rebuilt.resolve("model.onnx"), inputs()).get("out_sample").data();
        assertThat(again).isEqualTo(converted);
    }

    @Test
    void isBuiltOnceThenTakenFromTheCache(@TempDir Path ownCache) throws Exception {
        List<String> notes = new ArrayList<>();
        DiffusersConverter.Progress recording = new DiffusersConverter.Progress() {
            @Override
            public void start(long totalValues) {}

            @Override
            public void advance(long valuesDone) {}

            @Override
            public void note(String message) {
                notes.add(message);
            }
        };
        Path first = IpAdapterStore.rebuiltPlainUnet(ownCache, onnx, recording);
        FileTime written = Files.getLastModifiedTime(first.resolve("model.onnx"));
        Path second = IpAdapterStore.rebuiltPlainUnet(ownCache, onnx, recording);
        assertThat(second).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(second.resolve("model.onnx"))).isEqualTo(written);
        assertThat(notes).hasSize(1);
        assertThat(notes.getFirst()).contains("rebuilt without an adapter");
    }

    @Test
    void aFolderWithoutAUnetIsRefusedByName(@TempDir Path empty) {
        assertThatThrownBy(() -> IpAdapterStore.rebuiltPlainUnet(cache, empty, DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class)
                .hasMessageContaining(empty.toString())
                .hasMessageContaining("unet/model.onnx");
    }
}
