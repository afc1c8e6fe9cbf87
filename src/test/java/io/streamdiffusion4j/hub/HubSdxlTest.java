package io.streamdiffusion4j.hub;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SDXL repositories by Hub id, offline against a fake Hub that serves the tiny SDXL model under
 * the real ids: {@code stabilityai/sdxl-turbo} (diffusers layout with text_encoder_2/ and
 * tokenizer_2/, no TAESD) with {@code madebyollin/taesdxl} (a diffusers AutoencoderTiny in the
 * root), and an Optimum-layout ONNX export with text_encoder_2/.
 */
class HubSdxlTest {
    static final String SDXL_TURBO = "stabilityai/sdxl-turbo";
    static final String TAESDXL = "madebyollin/taesdxl";
    static final String ONNX = "fake/tiny-sdxl-onnx";

    @TempDir
    static Path shared;
    static FakeHub hub;

    @TempDir
    Path dir;

    @BeforeAll
    static void startHub() throws Exception {
        Path created = shared.resolve("created");
        RandomModels.create(ModelPreset.TINY_SDXL, 3, created, null);
        Path onnx = shared.resolve("onnx");
        DiffusersConverter.convert(created, onnx, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        Path taesd = Files.move(created.resolve("taesd"), shared.resolve("taesdxl")); // sdxl-turbo has no taesd/
        hub = new FakeHub().addRepo(SDXL_TURBO, created).addRepo(TAESDXL, taesd).addRepo(ONNX, onnx);
    }

    @AfterAll
    static void stopHub() {
        hub.close();
    }

    ModelStore store() {
        return new ModelStore(dir.resolve("cache"), new HubSettings(hub.endpoint(), null, dir.resolve("hf-cache"), false));
    }

    @Test
    void sdxlTurboAndTaesdxlByIdAreDownloadedConvertedAndLoad() throws Exception {
        ModelStore.Resolved r = store().resolve(SDXL_TURBO, TAESDXL, DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        assertThat(r.model().resolve("text_encoder_2/model.onnx")).exists();
        assertThat(r.model().resolve("tokenizer_2/vocab.json")).exists();
        assertThat(r.taesd().resolve("vae_decoder/model.onnx")).exists();
        try (Stream<Path> s = Files.walk(dir.resolve("hf-cache"))) {
            assertThat(s.anyMatch(p -> p.toString().contains("text_encoder_2") && p.toString().endsWith("model.safetensors"))).isTrue();
        }
        assertLoadsAsSdxl(r);
    }

    @Test
    void optimumLayoutWithTextEncoder2IsUsedDirectly() throws Exception {
        ModelStore.Resolved r = store().resolve(ONNX, TAESDXL, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        assertThat(r.model()).startsWith(dir.resolve("hf-cache/models--fake--tiny-sdxl-onnx/snapshots"));
        assertThat(r.model().resolve("text_encoder_2/model.onnx")).exists();
        assertThat(r.model().resolve("tokenizer_2/special_tokens_map.json")).exists();
        assertLoadsAsSdxl(r);
    }

    private static void assertLoadsAsSdxl(ModelStore.Resolved r) throws Exception {
        try (StableDiffusionModels m = OnnxModelLoader.load(r.model(), r.taesd(), OnnxModelLoader.Options.defaults())) {
            assertThat(m.textEncoder().embeddingLength()).isEqualTo(78);
            FloatTensor e = m.textEncoder().encode(m.tokenizer().encode("a fox!"));
            assertThat(e.shape()).containsExactly(1, 78, 48);
            assertThat(m.vae().scalingFactor()).as("TAESDXL").isEqualTo(1f);
        }
        try (StableDiffusionModels m = OnnxModelLoader.load(r.model(), null, OnnxModelLoader.Options.defaults())) {
            assertThat(m.vae().scalingFactor()).as("the SDXL VAE's scaling_factor").isEqualTo(0.13025f);
        }
    }
}
