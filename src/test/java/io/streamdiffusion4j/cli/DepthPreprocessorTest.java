package io.streamdiffusion4j.cli;

import static io.streamdiffusion4j.convert.OnnxGraph.attr;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.control.ControlImages;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.convert.OnnxGraph;
import io.streamdiffusion4j.convert.OnnxWriter;
import io.streamdiffusion4j.hub.HubCache;
import io.streamdiffusion4j.hub.RepoRef;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.PillowResize;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code depth} preprocessor with a tiny depth-like ONNX model made here (input
 * {@code pixel_values} (1, 3, 28, 28), output {@code predicted_depth} (1, 14, 14): the channel
 * mean, 2x2 average-pooled), loaded by Hub id from a Hub cache laid out as the Hub client keeps it
 * (offline), and from a folder: the frame is resized and normalised as documented, the map is
 * scaled to [0, 1] and resized to the frame in all three channels.
 */
class DepthPreprocessorTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    private static void depthModel(Path dir) throws Exception {
        OnnxGraph g = new OnnxGraph("depth-stand-in", false);
        OnnxGraph.Value x = g.floatInput("pixel_values", 1, 3, 28, 28);
        OnnxGraph.Value mean = g.op("ReduceMean", List.of(x), attr("axes", new long[] {1}), attr("keepdims", 1L));
        OnnxGraph.Value pooled = g.op("AveragePool", List.of(mean), attr("kernel_shape", new long[] {2, 2}),
                attr("strides", new long[] {2, 2}));
        OnnxGraph.Value map = g.op("Reshape", pooled, g.longs(1, 14, 14));
        g.floatOutput("predicted_depth", map, 1, 14, 14);
        OnnxWriter.write(g, dir, null);
    }

    /** The depth map the stand-in gives for {@code frame}, as the class comment says, computed here. */
    private static float[] expected(RgbImage frame) {
        RgbImage small = PillowResize.resize(frame, 28, 28, PillowResize.Filter.BICUBIC);
        float[] mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
        float[] m = new float[28 * 28];
        for (int p = 0; p < m.length; p++) {
            float s = 0;
            for (int c = 0; c < 3; c++) s += ((small.rgb()[p * 3 + c] & 0xff) / 255f - mean[c]) / std[c];
            m[p] = s / 3;
        }
        float[] pooled = new float[14 * 14];
        for (int y = 0; y < 14; y++) {
            for (int x = 0; x < 14; x++) {
                pooled[y * 14 + x] = (m[2 * y * 28 + 2 * x] + m[2 * y * 28 + 2 * x + 1] + m[(2 * y + 1) * 28 + 2 * x]
                        + m[(2 * y + 1) * 28 + 2 * x + 1]) / 4;
            }
        }
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : pooled) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        // bilinear to the frame, pixel centres aligned
        int w = frame.width(), h = frame.height();
        float[] out = new float[w * h];
        for (int y = 0; y < h; y++) {
            double sy = Math.max(0, (y + 0.5) * 14 / h - 0.5);
            int y0 = Math.min((int) sy, 13), y1 = Math.min(y0 + 1, 13);
            for (int x = 0; x < w; x++) {
                double sx = Math.max(0, (x + 0.5) * 14 / w - 0.5);
                int x0 = Math.min((int) sx, 13), x1 = Math.min(x0 + 1, 13);
                double fx = sx - x0, fy = sy - y0;
                double v = (pooled[y0 * 14 + x0] * (1 - fx) + pooled[y0 * 14 + x1] * fx) * (1 - fy)
                        + (pooled[y1 * 14 + x0] * (1 - fx) + pooled[y1 * 14 + x1] * fx) * fy;
                out[y * w + x] = (float) ((v - min) / (max - min));
            }
        }
        return out;
    }

    @Test
    void aDepthModelByHubIdFromTheCacheGivesTheNormalisedMap(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("hf-cache");
        HubCache hub = new HubCache(cache);
        RepoRef ref = RepoRef.parse("fake/depth-stand-in");
        hub.writeRef(ref, COMMIT);
        depthModel(hub.snapshotDir(ref, COMMIT).resolve("onnx"));
        Files.deleteIfExists(hub.snapshotDir(ref, COMMIT).resolve("onnx/model.onnx_data"));
        RgbImage frame = PillowResize.resize(ImageFiles.read(Path.of("examples/frames/000.png")), 64, 48,
                PillowResize.Filter.LANCZOS);
        Map<String, String> saved = new HashMap<>();
        for (String k : List.of("HF_HUB_CACHE", "HF_HUB_OFFLINE")) saved.put(k, System.getProperty(k));
        System.setProperty("HF_HUB_CACHE", cache.toString());
        System.setProperty("HF_HUB_OFFLINE", "1");
        try (ControlPreprocessor depth = ControlNetModels.preprocessor("depth", "fake/depth-stand-in",
                OnnxModelLoader.Options.defaults())) {
            assertThat(depth.name()).isEqualTo("depth");
            FloatTensor t = ControlImages.of(List.of(frame), depth);
            float[] want = expected(frame);
            int plane = 64 * 48;
            float lo = 1, hi = 0;
            for (int p = 0; p < plane; p++) {
                for (int c = 0; c < 3; c++) assertThat(t.data()[c * plane + p]).as("pixel " + p).isCloseTo(want[p], org.assertj.core.data.Offset.offset(1e-4f));
                lo = Math.min(lo, t.data()[p]);
                hi = Math.max(hi, t.data()[p]);
            }
            // the map is stretched over [0, 1] (the resize's samples come close to its ends)
            assertThat(lo).isLessThan(0.01f);
            assertThat(hi).isGreaterThan(0.99f);
            assertThatThrownBy(() -> ControlNetModels.preprocessor("depth", "fake/missing-depth", OnnxModelLoader.Options.defaults()))
                    .hasMessageContaining("HF_HUB_OFFLINE is set");
        } finally {
            saved.forEach((k, v) -> {
                if (v == null) System.clearProperty(k);
                else System.setProperty(k, v);
            });
        }
        try (ControlPreprocessor fromFolder = ControlNetModels.preprocessor("depth", hub.snapshotDir(ref, COMMIT).toString(),
                OnnxModelLoader.Options.defaults())) {
            assertThat(ControlImages.of(List.of(frame), fromFolder).data()[100]).isCloseTo(expected(frame)[100],
                    org.assertj.core.data.Offset.offset(1e-4f));
        }
        assertThatThrownBy(() -> ControlNetModels.preprocessor("depth", dir.resolve("nowhere").toString(),
                OnnxModelLoader.Options.defaults())).hasMessageContaining("depth model not found");
    }
}
