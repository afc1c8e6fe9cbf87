package io.streamdiffusion4j.hub;

import static io.streamdiffusion4j.checkpoint.OriginalCheckpoints.TINY;
import static io.streamdiffusion4j.checkpoint.OriginalCheckpoints.assertSameGraphs;
import static io.streamdiffusion4j.checkpoint.OriginalCheckpoints.writeLdmCheckpoint;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.checkpoint.OriginalCheckpoints;
import io.streamdiffusion4j.checkpoint.SingleFileCheckpoint;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.weights.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-file checkpoints named by Hub id: the checkpoint is downloaded, its architecture's
 * configuration fetched (configs only), and the result is the same model as the diffusers folder.
 * The file format itself is tested in {@code checkpoint.SingleFileCheckpointTest}.
 */
class HubSingleFileTest {
    @TempDir
    Path dir;

    /**
     * An SDXL (SGM) checkpoint through the model store: the configuration, with text_encoder_2/
     * and tokenizer_2/, is fetched from the sdxl-turbo id (served here with the tiny-sdxl folder);
     * the result is the same model as the folder, second text encoder included.
     */
    @Test
    void sdxlCheckpointThroughTheModelStore() throws Exception {
        Path sdxl = dir.resolve("tiny-sdxl");
        RandomModels.create(ModelPreset.TINY_SDXL, 6, sdxl, null);
        Path ckpt = OriginalCheckpoints.writeSgmCheckpoint(sdxl, dir.resolve("tiny-sgm.safetensors"));
        try (FakeHub hub = new FakeHub()) {
            hub.addRepo(SingleFileCheckpoint.Base.SDXL.configRepo(), sdxl);   // configs and weights; only configs may travel
            hub.addRepo("fake/checkpoints", Map.of("tiny-sgm.safetensors", Files.readAllBytes(ckpt)), null);
            ModelStore store = new ModelStore(dir.resolve("cache"),
                    new HubSettings(hub.endpoint(), null, dir.resolve("hf-cache"), false));
            ModelStore.Resolved r = store.resolve("fake/checkpoints/tiny-sgm.safetensors", null,
                    DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
            assertThat(hub.requests()).noneMatch(q -> q.path().startsWith("/stabilityai") && q.path().endsWith(".safetensors"));
            Path folder = dir.resolve("onnx-sdxl-folder");
            DiffusersConverter.convert(sdxl, folder, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
            assertSameGraphs(r.model(), folder);
            for (String f : List.of("text_encoder_2/model.onnx", "text_encoder_2/model.onnx_data")) {
                assertThat(r.model().resolve(f)).as(f).hasSameBinaryContentAs(folder.resolve(f));
            }
            assertThat(r.model().resolve("tokenizer_2/vocab.json")).exists();
        }
    }

    /**
     * Through the model store: a checkpoint named by Hub id, its configuration fetched from the
     * SD 1.5 configuration repository (configs only), converted once; the same as the folder.
     */
    @Test
    void hubCheckpointThroughTheModelStore() throws Exception {
        Path ckpt = writeLdmCheckpoint(dir.resolve("tiny-ldm.safetensors"), DType.F32);
        try (FakeHub hub = new FakeHub()) {
            hub.addRepo(SingleFileCheckpoint.Base.SD1.configRepo(), TINY);   // configs and weights; only configs may travel
            hub.addRepo("fake/checkpoints", Map.of("tiny-ldm.safetensors", Files.readAllBytes(ckpt)), null);
            ModelStore store = new ModelStore(dir.resolve("cache"),
                    new HubSettings(hub.endpoint(), null, dir.resolve("hf-cache"), false));
            ModelStore.Resolved r = store.resolve("fake/checkpoints/tiny-ldm.safetensors", null,
                    DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
            assertThat(r.model()).startsWith(dir.resolve("cache/converted"));
            assertThat(hub.requests()).noneMatch(q -> q.path().startsWith("/stable-diffusion-v1-5")
                    && q.path().endsWith(".safetensors"));
            DiffusersConverter.convert(TINY, dir.resolve("onnx-folder"), DiffusersConverter.Options.defaults(),
                    DiffusersConverter.Progress.NONE);
            assertSameGraphs(r.model(), dir.resolve("onnx-folder"));
            assertThat(dir.resolve("cache/checkpoints")).isEmptyDirectory();   // the intermediate folder is gone

            hub.clearRequests();
            ModelStore.Resolved again = store.resolve("fake/checkpoints/tiny-ldm.safetensors", null,
                    DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
            assertThat(again.model()).isEqualTo(r.model());
            assertThat(hub.requests()).isEmpty();

            // a local checkpoint file works the same way
            ModelStore.Resolved local = store.resolve(ckpt.toString(), null, DiffusersConverter.Options.defaults(),
                    DiffusersConverter.Progress.NONE);
            assertSameGraphs(local.model(), dir.resolve("onnx-folder"));
        }
    }
}
