package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInControlNet;
import io.streamdiffusion4j.testing.StandInModels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ControlNet in the stream on stand-in models: residuals reach the UNet (several ControlNets
 * summed), a scale of 0 is not run and leaves the output exactly as without a ControlNet, every
 * row is denoised under the control image of its own frame (ring), negative rows take the
 * image of the row they mirror, and live scale changes.
 */
class ControlNetStreamTest {
    private static final int SIZE = 32;
    private static final int PIXELS = 3 * SIZE * SIZE;

    private static FloatTensor frames(long seed, int f) {
        FloatTensor t = new TorchGenerator(seed).randn(f, 3, SIZE, SIZE);
        for (int i = 0; i < t.size(); i++) t.data()[i] = Math.clamp(t.data()[i] * 0.4f, -1f, 1f);
        return t;
    }

    /** f control images, image j of frame k filled with the value (k * 10 + j + 1) / 100, so each row's origin can be read back. */
    private static FloatTensor control(int frame, int f) {
        float[] d = new float[f * PIXELS];
        for (int j = 0; j < f; j++) Arrays.fill(d, j * PIXELS, (j + 1) * PIXELS, (frame * 10 + j + 1) / 100f);
        return new FloatTensor(d, f, 3, SIZE, SIZE);
    }

    /** The value each row of a ControlNet call's control images holds (see {@link #control}). */
    private static List<Float> rowOrigins(FloatTensor images) {
        List<Float> out = new ArrayList<>();
        for (int r = 0; r < images.rows(); r++) out.add(images.data()[r * images.rowSize()]);
        return out;
    }

    private static float origin(int frame, int j) {
        return (frame * 10 + j + 1) / 100f;
    }

    private record Run(List<float[]> outputs, StandInModels models) {}

    private static Run run(CfgType cfg, double guidance, boolean batch, int f, int[] tIndex, boolean residualUnet,
                           List<StandInControlNet> nets, double[] scales, int frames) throws Exception {
        StandInModels sm = StandInModels.create();
        sm.unet.acceptsResiduals = residualUnet;
        StreamDiffusion.Builder b = StreamDiffusion.builder().models(sm.models(false, 0.5f)).size(SIZE, SIZE).seed(3)
                .cfgType(cfg).useDenoisingBatch(batch).frameBufferSize(f).tIndexList(tIndex);
        for (int i = 0; i < nets.size(); i++) b.controlNet(nets.get(i), scales[i]);
        List<float[]> outs = new ArrayList<>();
        try (StreamDiffusion s = b.build()) {
            s.prepare("a fox", "blurry", 50, guidance, 0.8);
            for (int k = 0; k < frames; k++) {
                FloatTensor out = FloatTensor.zeros(f, 3, SIZE, SIZE);
                s.img2imgInto(frames(10 + k, f), control(k, f), out);
                outs.add(out.data().clone());
            }
        }
        return new Run(outs, sm);
    }

    @Test
    void aScaleOfZeroIsNotRunAndGivesExactlyTheRunWithoutControlNet() throws Exception {
        int[] tIndex = {20, 35};
        for (CfgType cfg : CfgType.values()) {
            for (boolean batch : new boolean[] {true, false}) {
                Run plain = run(cfg, 1.4, batch, 1, tIndex, false, List.of(), new double[0], 4);
                StandInControlNet net = new StandInControlNet(1f);
                Run off = run(cfg, 1.4, batch, 1, tIndex, true, List.of(net), new double[] {0}, 4);
                assertThat(net.calls).as(cfg + " batch " + batch).isEmpty();
                for (int k = 0; k < 4; k++) {
                    assertThat(off.outputs().get(k)).as(cfg + " batch " + batch + " frame " + k).isEqualTo(plain.outputs().get(k));
                }
                for (ControlResiduals r : off.models().unet.residualCalls) {
                    for (FloatTensor t : r.all()) for (float v : t.data()) assertThat(v).isZero();
                }
                assertThat(off.models().unet.residualCalls).hasSize(plain.models().unet.calls.size());
                StandInControlNet on = new StandInControlNet(1f);
                Run active = run(cfg, 1.4, batch, 1, tIndex, true, List.of(on), new double[] {0.8}, 4);
                assertThat(active.outputs().get(3)).as(cfg + " batch " + batch + ": a ControlNet changes the frames")
                        .isNotEqualTo(plain.outputs().get(3));
            }
        }
    }

    @Test
    void theUnetGetsTheSumOfTheActiveControlNetsResiduals() throws Exception {
        StandInControlNet a = new StandInControlNet(1f);
        StandInControlNet b = new StandInControlNet(-3f);
        StandInControlNet off = new StandInControlNet(7f);
        Run r = run(CfgType.SELF, 1.2, true, 1, new int[] {20, 35}, true, List.of(a, off, b), new double[] {0.8, 0, 0.5}, 3);
        assertThat(off.calls).isEmpty();
        assertThat(a.calls).hasSize(3);
        assertThat(b.calls).hasSize(3);
        for (int k = 0; k < 3; k++) {
            StandInControlNet.Call ca = a.calls.get(k);
            assertThat(ca.scale()).isEqualTo(0.8f);
            assertThat(b.calls.get(k).scale()).isEqualTo(0.5f);
            // the ControlNets see exactly the UNet's rows
            assertThat(ca.sample().data()).isEqualTo(r.models().unet.calls.get(k).sample().data());
            assertThat(ca.timesteps()).isEqualTo(r.models().unet.calls.get(k).timesteps());
            ControlResiduals expected = new StandInControlNet(1f).residuals(ca.sample(), ca.timesteps(), null, ca.controlImages(), 0.8f);
            expected.add(new StandInControlNet(-3f).residuals(ca.sample(), ca.timesteps(), null, ca.controlImages(), 0.5f));
            ControlResiduals got = r.models().unet.residualCalls.get(k);
            for (int i = 0; i < expected.all().size(); i++) {
                assertThat(got.all().get(i).data()).as("frame " + k + " residual " + i).isEqualTo(expected.all().get(i).data());
            }
        }
    }

    @Test
    void everyRowKeepsTheControlImageOfTheFrameItCameFrom() throws Exception {
        StandInControlNet net = new StandInControlNet(1f);
        run(CfgType.SELF, 1.2, true, 1, new int[] {10, 25, 40}, true, List.of(net), new double[] {1}, 4);
        // the first call fills the ring with its frame; then rows hold frames k, k-1, k-2
        assertThat(rowOrigins(net.calls.get(0).controlImages())).containsExactly(origin(0, 0), origin(0, 0), origin(0, 0));
        assertThat(rowOrigins(net.calls.get(1).controlImages())).containsExactly(origin(1, 0), origin(0, 0), origin(0, 0));
        assertThat(rowOrigins(net.calls.get(2).controlImages())).containsExactly(origin(2, 0), origin(1, 0), origin(0, 0));
        assertThat(rowOrigins(net.calls.get(3).controlImages())).containsExactly(origin(3, 0), origin(2, 0), origin(1, 0));

        StandInControlNet two = new StandInControlNet(1f);
        run(CfgType.SELF, 1.2, true, 2, new int[] {20, 35}, true, List.of(two), new double[] {1}, 3);
        assertThat(rowOrigins(two.calls.get(2).controlImages()))
                .containsExactly(origin(2, 0), origin(2, 1), origin(1, 0), origin(1, 1));
    }

    @Test
    void negativeRowsTakeTheControlImageOfTheRowTheyMirror() throws Exception {
        StandInControlNet full = new StandInControlNet(1f);
        run(CfgType.FULL, 1.5, true, 1, new int[] {20, 35}, true, List.of(full), new double[] {1}, 2);
        assertThat(rowOrigins(full.calls.get(1).controlImages()))
                .containsExactly(origin(1, 0), origin(0, 0), origin(1, 0), origin(0, 0));
        StandInControlNet init = new StandInControlNet(1f);
        run(CfgType.INITIALIZE, 1.5, true, 1, new int[] {20, 35}, true, List.of(init), new double[] {1}, 2);
        assertThat(rowOrigins(init.calls.get(1).controlImages())).containsExactly(origin(1, 0), origin(1, 0), origin(0, 0));
    }

    @Test
    void withoutStreamBatchEveryStepTakesTheCurrentFramesImage() throws Exception {
        StandInControlNet net = new StandInControlNet(1f);
        run(CfgType.SELF, 1.2, false, 1, new int[] {20, 35}, true, List.of(net), new double[] {1}, 2);
        assertThat(net.calls).hasSize(4);
        assertThat(rowOrigins(net.calls.get(2).controlImages())).containsExactly(origin(1, 0));
        assertThat(rowOrigins(net.calls.get(3).controlImages())).containsExactly(origin(1, 0));
    }

    @Test
    void scalesChangeLiveAndAreChecked() throws Exception {
        StandInModels sm = StandInModels.create();
        sm.unet.acceptsResiduals = true;
        StandInControlNet a = new StandInControlNet(1f);
        StandInControlNet b = new StandInControlNet(2f);
        try (StreamDiffusion s = StreamDiffusion.builder().models(sm.models(false, 0.5f)).size(SIZE, SIZE).seed(3)
                .controlNet(a, 0.8).controlNet(b, 0.3).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            FloatTensor out = FloatTensor.zeros(1, 3, SIZE, SIZE);
            s.img2imgInto(frames(1, 1), control(0, 1), out);
            s.updateControlNetScale(0, 0);
            s.updateControlNetScale(1, 1.5);
            s.img2imgInto(frames(2, 1), control(1, 1), out);
            assertThat(a.calls).hasSize(1);
            assertThat(b.calls).hasSize(2);
            assertThat(b.calls.get(1).scale()).isEqualTo(1.5f);
            assertThat(s.controlNetScales()).containsExactly(0, 1.5);
            // the ring survives a live t_index_list change with the same number of steps
            s.updateTIndexList(15, 30);
            s.img2imgInto(frames(3, 1), control(2, 1), out);
            assertThat(rowOrigins(b.calls.get(2).controlImages())).containsExactly(origin(2, 0), origin(1, 0));
            assertThatThrownBy(() -> s.updateControlNetScale(0, 2.5)).hasMessageContaining("controlnet scale")
                    .hasMessageContaining("2.5");
            assertThatThrownBy(() -> s.updateControlNetScale(2, 1)).hasMessageContaining("controlnet index");
            assertThatThrownBy(() -> s.img2imgInto(frames(3, 1), null, out)).hasMessageContaining("control image");
        }
        assertThat(a.closed).as("loaded ControlNets belong to the caller").isZero();
    }

    @Test
    void aPlainUnetOrTxt2imgIsRefused() {
        StandInModels sm = StandInModels.create();
        assertThatThrownBy(() -> StreamDiffusion.builder().models(sm.models(false, 0.5f)).size(SIZE, SIZE)
                .controlNet(new StandInControlNet(1f), 1).build()).hasMessageContaining("residual inputs");
        sm.unet.acceptsResiduals = true;
        assertThatThrownBy(() -> StreamDiffusion.builder().models(sm.models(false, 0.5f)).size(SIZE, SIZE).mode(Mode.TXT2IMG)
                .controlNet(new StandInControlNet(1f), 1).build()).hasMessageContaining("img2img only");
    }
}
