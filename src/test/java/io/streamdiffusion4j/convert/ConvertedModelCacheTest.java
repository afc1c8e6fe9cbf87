package io.streamdiffusion4j.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.files.CacheEntry;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.testing.DamagedModels;
import io.streamdiffusion4j.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The converted-model cache: a damaged entry is converted again (with a note) instead of failing
 * every later run, and weights that disagree with their config never become an entry.
 */
class ConvertedModelCacheTest {
    private static final Path DIFFUSERS = Fixtures.dir().resolve("models/tiny-sd-turbo");

    private final List<String> notes = new ArrayList<>();
    private final DiffusersConverter.Progress progress = new DiffusersConverter.Progress() {
        @Override
        public void start(long totalValues) {}

        @Override
        public void advance(long valuesDone) {}

        @Override
        public void note(String message) {
            notes.add(message);
        }
    };

    private Path resolve(ModelStore store, Path model) throws IOException {
        return store.resolve(model.toString(), Fixtures.taesd().toString(), DiffusersConverter.Options.defaults(), progress).model();
    }

    private static void assertLoads(Path model) throws IOException {
        try (StableDiffusionModels m = OnnxModelLoader.load(model, Fixtures.taesd(), OnnxModelLoader.Options.defaults())) {
            assertThat(m.description()).contains(model.toString());
        }
    }

    @Test
    void aTruncatedConvertedFileIsConvertedAgainWithANote(@TempDir Path dir) throws Exception {
        ModelStore store = new ModelStore(dir.resolve("cache"));
        Path model = resolve(store, DIFFUSERS);
        DamagedModels.truncateToHalf(model.resolve("unet/model.onnx"));

        assertThat(resolve(store, DIFFUSERS)).isEqualTo(model);
        assertThat(notes).singleElement().asString()
                .contains(model.toString()).contains("damaged").contains("unet/model.onnx is").contains("building it again");
        assertThat(CacheEntry.damage(model)).isNull();
        assertLoads(model);

        notes.clear();
        assertThat(resolve(store, DIFFUSERS)).isEqualTo(model);
        assertThat(notes).isEmpty();
        assertThat(DamagedModels.listing(model.getParent())).containsExactly(model.getFileName().toString());
    }

    @Test
    void aCorruptedWeightsFileOfTheSameSizeIsFoundByItsChecksum(@TempDir Path dir) throws Exception {
        ModelStore store = new ModelStore(dir.resolve("cache"));
        Path model = resolve(store, DIFFUSERS);
        Path weights = model.resolve("unet/model.onnx_data");
        assertThat(weights).exists();
        DamagedModels.corrupt(weights);

        resolve(store, DIFFUSERS);
        assertThat(notes).singleElement().asString().contains("unet/model.onnx_data does not match its checksum");
        assertLoads(model);
    }

    @Test
    void theBuiltInModelRepairsItselfToo(@TempDir Path dir) throws Exception {
        ModelStore store = new ModelStore(dir.resolve("cache"));
        Path tiny = store.builtInTiny(progress);
        DamagedModels.truncateToHalf(tiny.resolve("vae_decoder/model.onnx_data"));
        assertThat(store.builtInTiny(progress)).isEqualTo(tiny);
        assertThat(notes).singleElement().asString().contains("vae_decoder/model.onnx_data is");
        assertLoads(tiny);
    }

    @Test
    void aTensorOfTheWrongShapeIsAnErrorAndLeavesNothingInTheCache(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("bad-model");
        Path unetWeights = DamagedModels.linkedCopy(DIFFUSERS, model, "unet/diffusion_pytorch_model.safetensors");
        // same number of values, another layout: the header stays consistent, only the config disagrees
        DamagedModels.reshapeTensor(DIFFUSERS.resolve("unet/diffusion_pytorch_model.safetensors"), unetWeights,
                "down_blocks.1.resnets.0.conv1.weight", 16, 144, 1, 1);
        ModelStore store = new ModelStore(dir.resolve("cache"));

        assertThatThrownBy(() -> resolve(store, model))
                .isInstanceOf(InputFileException.class)
                .hasMessageContaining(unetWeights.toString())
                .hasMessageContaining("'down_blocks.1.resnets.0.conv1.weight' has shape [16, 144, 1, 1]")
                .hasMessageContaining(model.resolve("unet/config.json") + " implies [16, 16, 3, 3]");
        assertThat(DamagedModels.listing(dir.resolve("cache/converted"))).isEmpty();
    }
}
