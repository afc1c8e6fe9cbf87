package io.streamdiffusion4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.convert.ControlNetPreset;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.model.ControlNetNames;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ValueInfoProto;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ControlNets through the model store: a diffusers ControlNetModel folder or Hub id converted once
 * and cached by content, a converted folder used as it is, and the UNet variant with control
 * inputs made once per UNet, beside the untouched plain one.
 */
class HubControlNetTest {
    static final String CONTROLNET = "fake/tiny-controlnet";
    static final String NOT_CONTROLNET = "fake/taesd";
    static final String CONTROLNET_ONNX = "fake/tiny-controlnet-onnx";

    @TempDir
    static Path shared;
    static FakeHub hub;

    @TempDir
    Path dir;

    @BeforeAll
    static void startHub() throws Exception {
        RandomModels.createControlNet(ControlNetPreset.TINY, 3, shared.resolve("cn"), null);
        RandomModels.create(ModelPreset.TINY, 3, shared.resolve("model"), null);
        DiffusersConverter.convertControlNet(shared.resolve("cn"), shared.resolve("cn-onnx"), false, DiffusersConverter.Progress.NONE);
        hub = new FakeHub().addRepo(CONTROLNET, shared.resolve("cn")).addRepo(NOT_CONTROLNET, shared.resolve("model/taesd"))
                .addRepo(CONTROLNET_ONNX, shared.resolve("cn-onnx"));
    }

    @AfterAll
    static void stopHub() {
        hub.close();
    }

    ModelStore store() {
        return new ModelStore(dir.resolve("cache"), new HubSettings(hub.endpoint(), null, dir.resolve("hf-cache"), false));
    }

    @Test
    void hubIdIsConvertedOnceAndCachedByContent() throws Exception {
        Path first = store().controlNet(CONTROLNET, false, DiffusersConverter.Progress.NONE, DownloadProgress.NONE);
        assertThat(first).startsWith(dir.resolve("cache/converted"));
        assertThat(first.resolve("config.json")).exists();
        assertThat(inputs(first.resolve("model.onnx"))).containsExactlyInAnyOrder(
                ControlNetNames.SAMPLE, ControlNetNames.TIMESTEP, ControlNetNames.ENCODER_HIDDEN_STATES,
                ControlNetNames.CONTROLNET_COND, ControlNetNames.CONDITIONING_SCALE);
        // the same graph as converting the local folder
        Path local = store().controlNet(shared.resolve("cn").toString(), DiffusersConverter.Progress.NONE);
        assertThat(Files.readAllBytes(first.resolve("model.onnx"))).isEqualTo(Files.readAllBytes(local.resolve("model.onnx")));
        assertThat(Files.mismatch(first.resolve("model.onnx_data"), local.resolve("model.onnx_data"))).isEqualTo(-1L);

        long written = Files.getLastModifiedTime(first.resolve("model.onnx")).toMillis();
        hub.clearRequests();
        Path second = store().controlNet(CONTROLNET, false, DiffusersConverter.Progress.NONE, DownloadProgress.NONE);
        assertThat(hub.requests()).isEmpty();
        assertThat(second).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(second.resolve("model.onnx")).toMillis()).isEqualTo(written);
        // half precision is another cache entry
        assertThat(store().controlNet(CONTROLNET, true, DiffusersConverter.Progress.NONE, DownloadProgress.NONE)).isNotEqualTo(first);
    }

    @Test
    void convertedFoldersAreUsedAsTheyAre() throws Exception {
        Path converted = store().controlNet(shared.resolve("cn").toString(), DiffusersConverter.Progress.NONE);
        assertThat(store().controlNet(converted.toString(), DiffusersConverter.Progress.NONE)).isEqualTo(converted);
        assertThatThrownBy(() -> store().controlNet(converted.toString(), true, DiffusersConverter.Progress.NONE, DownloadProgress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("already an ONNX ControlNet");
    }

    @Test
    void onnxRepositoriesAreUsedDirectly() throws Exception {
        Path p = store().controlNet(CONTROLNET_ONNX, DiffusersConverter.Progress.NONE);
        assertThat(p).startsWith(dir.resolve("hf-cache/models--fake--tiny-controlnet-onnx/snapshots"));
        assertThat(Files.mismatch(p.resolve("model.onnx_data"), shared.resolve("cn-onnx/model.onnx_data"))).isEqualTo(-1L);
        assertThat(p.resolve("config.json")).exists();
        assertThat(dir.resolve("cache/converted")).doesNotExist();
    }

    @Test
    void whatIsNotAControlNetIsAClearError() {
        assertThatThrownBy(() -> store().controlNet(NOT_CONTROLNET, DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("not a ControlNet");
        assertThatThrownBy(() -> store().controlNet(shared.resolve("model/unet").toString(), DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("neither a diffusers ControlNetModel folder");
        assertThatThrownBy(() -> store().controlNet(dir.resolve("missing").toString(), DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("ControlNet not found");
        assertThatThrownBy(() -> store().controlNet(CONTROLNET + "/config.json", DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("not a file");
    }

    @Test
    void unetWithControlIsMadeOnceBesideThePlainUnet() throws Exception {
        ModelStore store = store();
        Path model = store.builtInTiny(DiffusersConverter.Progress.NONE);
        byte[] plain = Files.readAllBytes(model.resolve("unet/model.onnx"));
        Path variant = store.unetWithControl(model, DiffusersConverter.Progress.NONE);
        assertThat(variant).startsWith(dir.resolve("cache/converted"));
        assertThat(Files.readAllBytes(model.resolve("unet/model.onnx"))).isEqualTo(plain);
        assertThat(variant.resolve("config.json")).hasSameBinaryContentAs(model.resolve("unet/config.json"));
        // the weights are the plain UNet's file, linked (same file), not a copy
        assertThat(Files.isSameFile(variant.resolve("model.onnx_data"), model.resolve("unet/model.onnx_data"))
                || Files.mismatch(variant.resolve("model.onnx_data"), model.resolve("unet/model.onnx_data")) == -1L).isTrue();
        assertThat(inputs(variant.resolve("model.onnx")))
                .containsAll(ControlNetNames.residuals(12)).contains("sample", "timestep", "encoder_hidden_states");
        long written = Files.getLastModifiedTime(variant.resolve("model.onnx")).toMillis();
        assertThat(store.unetWithControl(model, DiffusersConverter.Progress.NONE)).isEqualTo(variant);
        assertThat(Files.getLastModifiedTime(variant.resolve("model.onnx")).toMillis()).isEqualTo(written);
        assertThatThrownBy(() -> store.unetWithControl(dir, DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("no unet/model.onnx");
    }

    private static List<String> inputs(Path model) throws Exception {
        return ModelProto.parseFrom(Files.readAllBytes(model)).getGraph().getInputList().stream().map(ValueInfoProto::getName).toList();
    }
}
