package io.streamdiffusion4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.pipeline.CfgType;
import io.streamdiffusion4j.pipeline.StreamConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.StandInUnet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * UNet calls and rows per frame are counted at the model interface: on the fixtures' tiny model
 * the counts follow what each configuration really asks of the UNet, whatever the configuration
 * says. No timing is checked.
 */
class StreamArmTest {
    private static StableDiffusionModels tiny;
    private static RgbImage frame;
    private static RunConfig run;

    @BeforeAll
    static void load() throws Exception {
        tiny = OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults());
        frame = ImageFiles.read(ImageFiles.list(Fixtures.frames()).getFirst());
        run = RunConfig.parse("{\"guidance_scale\": 1.2, \"width\": 64, \"height\": 64}", "test");
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static StreamConfig config(CfgType cfg, boolean batch, int... tIndexList) {
        return run.streamConfig().toBuilder().tIndexList(tIndexList).cfgType(cfg).useDenoisingBatch(batch).build();
    }

    private static List<int[]> callsOf(StreamConfig config, int frames) {
        List<int[]> calls = new ArrayList<>();
        try (StreamArm arm = new StreamArm("arm", tiny, config, run)) {
            for (int i = 0; i < frames; i++) {
                ArmFrame f = arm.run(frame);
                assertThat(f.frameNanos()).isPositive();
                assertThat(f.unetNanos()).isPositive().isLessThanOrEqualTo(f.frameNanos());
                calls.add(f.rowsPerCall());
            }
        }
        return calls;
    }

    @Test
    void streamBatchMakesOneCallOfNRowsAndTheSequentialLoopNCallsOfOne() {
        assertThat(callsOf(config(CfgType.SELF, true, 32, 45), 3)).allSatisfy(c -> assertThat(c).containsExactly(2));
        assertThat(callsOf(config(CfgType.SELF, false, 32, 45), 3)).allSatisfy(c -> assertThat(c).containsExactly(1, 1));
        assertThat(callsOf(config(CfgType.SELF, true, 0, 16, 32, 45), 2)).allSatisfy(c -> assertThat(c).containsExactly(4));
        assertThat(callsOf(config(CfgType.SELF, false, 0, 16, 32, 45), 2))
                .allSatisfy(c -> assertThat(c).containsExactly(1, 1, 1, 1));
    }

    @Test
    void guidanceRowsAreCountedAsTheyAreSent() {
        assertThat(callsOf(config(CfgType.NONE, true, 32, 45), 2)).allSatisfy(c -> assertThat(c).containsExactly(2));
        assertThat(callsOf(config(CfgType.FULL, true, 32, 45), 2)).allSatisfy(c -> assertThat(c).containsExactly(4));
        assertThat(callsOf(config(CfgType.INITIALIZE, true, 32, 45), 2)).allSatisfy(c -> assertThat(c).containsExactly(3));
    }

    @Test
    void armsWithTheirOwnBuffersLeaveTheSharedModelUsableAndAgree() {
        StreamConfig c = config(CfgType.SELF, true, 32, 45);
        // two arms of other shapes take turns on the one session, then both are closed
        try (StreamArm a = new StreamArm("a", tiny, c, run); StreamArm b = new StreamArm("b", tiny, config(CfgType.FULL, true, 32, 45), run)) {
            for (int i = 0; i < 2; i++) {
                a.run(frame);
                b.run(frame);
            }
        }
        // the shared UNet still works after its views are closed
        FloatTensor sample = FloatTensor.zeros(1, tiny.unet().latentChannels(), 8, 8);
        FloatTensor hidden = FloatTensor.zeros(1, 77, tiny.unet().crossAttentionDim());
        assertThat(tiny.unet().predictNoise(sample, new long[] {500}, hidden).size()).isEqualTo(sample.size());
    }

    @Test
    void countingUnetCountsEveryCallAndItsRows() {
        StandInUnet standIn = new StandInUnet(4, 8);
        CountingUnet counting = new CountingUnet(standIn, false);
        CountingUnet.Tally start = counting.tally();
        counting.predictNoise(FloatTensor.zeros(3, 4, 2, 2), new long[] {1, 2, 3}, FloatTensor.zeros(3, 77, 8));
        float[] eps = new float[2 * 4 * 2 * 2];
        counting.predictNoiseInto(FloatTensor.zeros(2, 4, 2, 2), new long[] {1, 2}, FloatTensor.zeros(2, 77, 8), eps);
        CountingUnet.Tally middle = counting.tally();
        counting.predictNoise(FloatTensor.zeros(1, 4, 2, 2), new long[] {1}, FloatTensor.zeros(1, 77, 8));
        assertThat(counting.rowsSince(start)).containsExactly(3, 2, 1);
        assertThat(counting.rowsSince(middle)).containsExactly(1);
        assertThat(standIn.calls).as("every call reached the model").hasSize(3);
        assertThat(eps).as("predictNoiseInto wrote the model's output").isNotEqualTo(new float[eps.length]);
        assertThat(counting.nanosSince(start)).isGreaterThanOrEqualTo(counting.nanosSince(middle));
    }
}
