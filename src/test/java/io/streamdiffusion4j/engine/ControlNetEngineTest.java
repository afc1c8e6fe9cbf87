package io.streamdiffusion4j.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.control.CannyPreprocessor;
import io.streamdiffusion4j.control.ControlImages;
import io.streamdiffusion4j.control.ControlPreprocessor;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImagePreprocessor;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.testing.StandInControlNet;
import io.streamdiffusion4j.testing.StandInModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The engine makes each frame's control image on its input (reader) thread, beside the model
 * thread, and the ControlNet gets exactly the control preprocessor's image of that frame.
 */
class ControlNetEngineTest {

    @Test
    void controlImagesAreMadeOnTheInputThreadAndReachTheControlNet() throws Exception {
        List<String> threads = Collections.synchronizedList(new ArrayList<>());
        CannyPreprocessor canny = new CannyPreprocessor();
        ControlPreprocessor recording = new ControlPreprocessor() {
            @Override
            public String name() {
                return "canny";
            }

            @Override
            public void apply(RgbImage frame, float[] out, int offset) {
                threads.add(Thread.currentThread().getName());
                canny.apply(frame, out, offset);
            }
        };
        StandInModels sm = StandInModels.create();
        sm.unet.acceptsResiduals = true;
        StandInControlNet net = new StandInControlNet(1f);
        List<RgbImage> frames = new ArrayList<>();
        for (int i = 0; i < 3; i++) frames.add(ImageFiles.read(Path.of(String.format("examples/frames/%03d.png", i))));
        ListSink sink = new ListSink(true);
        QueueSource src = new QueueSource(false);
        try (StreamDiffusion s = StreamDiffusion.builder().models(sm.models(false, 0.5f)).size(64, 64).tIndexList(32)
                .controlNet(net, 0.7).controlPreprocessor(recording).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            StreamEngine engine = new StreamEngine(s, src, sink, StreamEngine.Options.defaults());
            engine.start();
            for (RgbImage f : frames) src.feed(f);
            src.end();
            engine.awaitEnd();
        }
        assertThat(sink.indices).containsExactly(0L, 1L, 2L);
        assertThat(threads).hasSize(3).allMatch(n -> n.equals("sd4j-reader"));
        assertThat(net.calls).hasSize(3);
        ImagePreprocessor fit = new ImagePreprocessor(64, 64);
        for (int i = 0; i < 3; i++) {
            float[] expected = ControlImages.of(List.of(fit.fit(frames.get(i))), canny).data();
            assertThat(net.calls.get(i).controlImages().data()).as("frame " + i).isEqualTo(expected);
        }
    }
}
