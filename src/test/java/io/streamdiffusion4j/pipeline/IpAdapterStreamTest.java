package io.streamdiffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.IpAdapterFolder;
import io.streamdiffusion4j.convert.IpAdapterPreset;
import io.streamdiffusion4j.convert.IpAdapterStore;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.engine.ControlCommand;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library's live IP-Adapter settings on the built-in tiny model and a random tiny-ip-adapter:
 * two identical streams agree frame for frame until one changes its style image (or scale), and
 * differ from that frame on; the live commands check their values before anything changes.
 */
class IpAdapterStreamTest {
    @TempDir
    static Path dir;
    private static Path onnx;
    private static IpAdapterStore.Variant variant;
    private static List<RgbImage> frames;

    @BeforeAll
    static void prepare() throws Exception {
        ModelStore store = ModelStore.defaultStore();
        onnx = store.builtInTiny(DiffusersConverter.Progress.NONE);
        Path adapter = dir.resolve("adapter");
        RandomModels.create(IpAdapterPreset.TINY, 0, adapter, null);
        variant = IpAdapterStore.prepare(store.root(), onnx, IpAdapterFolder.of(adapter), DiffusersConverter.Progress.NONE);
        frames = new ArrayList<>();
        for (int i = 0; i < 3; i++) frames.add(ImageFiles.read(Path.of("examples/frames", String.format("%03d.png", i))));
    }

    private static StreamDiffusion stream(double scale, RgbImage style) throws Exception {
        StreamDiffusion s = StreamDiffusion.builder().model(onnx).taesd(onnx.resolve("taesd")).size(64, 64).tIndexList(16, 32)
                .seed(2).ipAdapter(variant, scale).styleImage(style).build();
        s.prepare("a watercolor fox", "", 50, 1.2, 1.0);
        return s;
    }

    private static boolean same(FloatTensor a, FloatTensor b) {
        return java.util.Arrays.equals(a.data(), b.data());
    }

    @Test
    void aLiveStyleChangeChangesTheFramesFromTheNextOne() throws Exception {
        try (StreamDiffusion a = stream(0.8, frames.get(0)); StreamDiffusion b = stream(0.8, frames.get(0))) {
            List<FloatTensor> outA = new ArrayList<>();
            List<FloatTensor> outB = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                if (i == 2) b.updateStyleImage(frames.get(2));
                FloatTensor in = a.preprocessor().toTensor(List.of(frames.get(i % 3)));
                outA.add(a.img2img(in).copy());
                outB.add(b.img2img(in).copy());
            }
            assertThat(same(outA.get(0), outB.get(0)) && same(outA.get(1), outB.get(1))).as("identical before the change").isTrue();
            assertThat(same(outA.get(2), outB.get(2))).as("the new style image shows at the next frame").isFalse();
        }
    }

    @Test
    void aLiveScaleChangeChangesTheFramesAndIsChecked() throws Exception {
        try (StreamDiffusion a = stream(0.8, frames.get(0)); StreamDiffusion b = stream(0.8, frames.get(0))) {
            FloatTensor in = a.preprocessor().toTensor(List.of(frames.get(0)));
            assertThat(same(a.img2img(in).copy(), b.img2img(in).copy())).isTrue();
            b.updateIpAdapterScale(0.2);
            assertThat(b.ipAdapterScale()).isEqualTo(0.2);
            assertThat(same(a.img2img(in).copy(), b.img2img(in).copy())).isFalse();
            assertThatThrownBy(() -> b.updateIpAdapterScale(-1)).hasMessageContaining("ip_adapter_scale must be between 0 and");
        }
    }

    @Test
    void liveCommandsCheckTheirValuesFirst(@TempDir Path tmp) throws Exception {
        assertThatThrownBy(() -> ControlCommand.parse("style examples/frames/000.png", 50, false))
                .hasMessageContaining("needs a stream started with --ip-adapter");
        assertThatThrownBy(() -> ControlCommand.parse("ip_scale 11", 50, true)).hasMessageContaining("between 0 and");
        Path bad = Files.writeString(tmp.resolve("bad.png"), "not an image");
        assertThatThrownBy(() -> ControlCommand.parse("style " + bad, 50, true)).hasMessageContaining(bad.toString());
        ControlCommand ok = ControlCommand.parse("style examples/frames/001.png", 50, true);
        assertThat(ok.kind()).isEqualTo(ControlCommand.Kind.CHANGE);
        assertThat(ok.description()).contains("128x128");
    }
}
