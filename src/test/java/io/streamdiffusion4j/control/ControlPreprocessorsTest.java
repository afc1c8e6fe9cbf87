package io.streamdiffusion4j.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImagePreprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Control images from frames: passthrough, canny (the edge map of {@link CannyEdges}), by name, and back from model inputs. */
class ControlPreprocessorsTest {

    private static RgbImage frame() throws Exception {
        return ImageFiles.read(Path.of("examples/frames/000.png"));
    }

    @Test
    void passthroughIsTheFrameInUnitRangeChannelsFirst() throws Exception {
        RgbImage f = frame();
        FloatTensor t = ControlImages.of(List.of(f, f), ControlPreprocessors.simple("none"));
        int w = f.width(), h = f.height(), plane = w * h;
        assertThat(t.shape()).containsExactly(2, 3, h, w);
        for (int p : new int[] {0, 1234, plane - 1}) {
            for (int c = 0; c < 3; c++) {
                float expected = (f.rgb()[p * 3 + c] & 0xff) / 255f;
                assertThat(t.data()[c * plane + p]).isEqualTo(expected);
                assertThat(t.data()[3 * plane + c * plane + p]).isEqualTo(expected);
            }
        }
    }

    @Test
    void cannyIsTheEdgeMapInEveryChannel() throws Exception {
        RgbImage f = frame();
        RgbImage edges = CannyEdges.DEFAULT.apply(f);
        FloatTensor t = ControlImages.of(List.of(f), ControlPreprocessors.simple("canny"));
        int plane = f.width() * f.height();
        int on = 0;
        for (int p = 0; p < plane; p++) {
            float v = t.data()[p];
            assertThat(v).isEqualTo((edges.rgb()[p * 3] & 0xff) / 255f);
            assertThat(v == 0f || v == 1f).isTrue();
            assertThat(t.data()[plane + p]).isEqualTo(v);
            if (v == 1f) on++;
        }
        assertThat(on).as("the example frame has edges").isBetween(plane / 100, plane / 2);
    }

    @Test
    void aModelInputTurnsBackIntoTheFramesPixels() throws Exception {
        RgbImage f = frame();
        FloatTensor input = new ImagePreprocessor(f.width(), f.height()).toTensor(f);
        assertThat(ControlImages.frameOf(input, 0).rgb()).isEqualTo(f.rgb());
    }

    @Test
    void namesAreChecked() {
        assertThat(ControlPreprocessors.simple("canny").name()).isEqualTo("canny");
        assertThat(ControlPreprocessors.simple("none").name()).isEqualTo("none");
        assertThatThrownBy(() -> ControlPreprocessors.simple("sobel")).hasMessageContaining("[canny, depth, none], found 'sobel'");
        assertThatThrownBy(() -> ControlPreprocessors.simple("depth")).hasMessageContaining("depth needs a depth model");
    }
}
