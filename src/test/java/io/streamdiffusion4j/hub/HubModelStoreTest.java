package io.streamdiffusion4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.cli.Main;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.LoraMerge;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.TensorAssert;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hub ids through the model store and the command line: download, convert once, run; ONNX repos used as they are. */
class HubModelStoreTest {
    static final String MODEL = "fake/tiny-sd-turbo";
    static final String ONNX = "fake/tiny-sd-turbo-onnx";
    static final String TAESD = "fake/taesd";
    static final String TAESD_ONNX = "fake/taesd-onnx";
    static final String LORA = "fake/lora";

    @TempDir
    static Path shared;
    static FakeHub hub;

    @TempDir
    Path dir;

    @BeforeAll
    static void startHub() throws Exception {
        Path created = shared.resolve("created");
        RandomModels.create(ModelPreset.TINY, 5, created, null);   // its taesd/ is a diffusers AutoencoderTiny
        hub = new FakeHub()
                .addRepo(MODEL, Fixtures.dir().resolve("models/tiny-sd-turbo"))
                .addRepo(ONNX, Fixtures.onnxModel())
                .addRepo(TAESD, created.resolve("taesd"))
                .addRepo(TAESD_ONNX, Fixtures.taesd())
                .addRepo(LORA, Map.of("pytorch_lora_weights.safetensors", Files.readAllBytes(lora(shared))), null);
    }

    @AfterAll
    static void stopHub() {
        hub.close();
    }

    @BeforeEach
    void clear() {
        hub.clearRequests();
    }

    ModelStore store() {
        return new ModelStore(dir.resolve("cache"), new HubSettings(hub.endpoint(), null, dir.resolve("hf-cache"), false));
    }

    @Test
    void diffusersRepoIsConvertedOnceAndCachedByContent() throws Exception {
        ModelStore.Resolved first = store().resolve(MODEL, TAESD, DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        assertThat(first.model()).startsWith(dir.resolve("cache/converted"));
        assertThat(first.taesd()).startsWith(dir.resolve("cache/converted"));
        assertThat(first.model().resolve("unet/model.onnx")).exists();
        assertThat(first.taesd().resolve("vae_decoder/model.onnx")).exists();
        // the converted model is the one the local folder gives
        DiffusersConverter.convert(Fixtures.dir().resolve("models/tiny-sd-turbo"), dir.resolve("local"),
                DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        io.streamdiffusion4j.checkpoint.OriginalCheckpoints.assertSameGraphs(first.model(), dir.resolve("local"));

        long written = Files.getLastModifiedTime(first.model().resolve("unet/model.onnx")).toMillis();
        hub.clearRequests();
        ModelStore.Resolved second = store().resolve(MODEL, TAESD, DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        assertThat(hub.requests()).isEmpty();
        assertThat(second).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(second.model().resolve("unet/model.onnx")).toMillis()).isEqualTo(written);
    }

    @Test
    void onnxRepositoriesAreUsedDirectly() throws Exception {
        ModelStore.Resolved r = store().resolve(ONNX, TAESD_ONNX, DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        assertThat(r.model()).startsWith(dir.resolve("hf-cache/models--fake--tiny-sd-turbo-onnx/snapshots"));
        assertThat(r.taesd()).startsWith(dir.resolve("hf-cache/models--fake--taesd-onnx/snapshots"));
        assertThat(dir.resolve("cache/converted")).doesNotExist();
        assertThatThrownBy(() -> store().resolve(ONNX, null, new DiffusersConverter.Options(true, List.of()),
                DiffusersConverter.Progress.NONE)).hasMessageContaining("already an ONNX model");
    }

    @Test
    void loraByHubId() throws Exception {
        ModelStore store = store();
        LoraMerge.LoraFile l = store.lora(LORA + ":0.5", DownloadProgress.NONE);
        assertThat(l.scale()).isEqualTo(0.5);
        assertThat(l.file().getFileName().toString()).isEqualTo("pytorch_lora_weights.safetensors");
        assertThat(l.file()).hasSameBinaryContentAs(lora(shared));
        Path plain = store.resolve(MODEL, null, DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE).model();
        Path merged = store.resolve(MODEL, null, new DiffusersConverter.Options(false, List.of(l)),
                DiffusersConverter.Progress.NONE).model();
        assertThat(merged).isNotEqualTo(plain);
        assertThat(merged.resolve("unet/model.onnx_data")).exists();
        assertThat(Files.mismatch(merged.resolve("unet/model.onnx_data"), plain.resolve("unet/model.onnx_data"))).isNotEqualTo(-1);

        assertThatThrownBy(() -> store.lora("no/such-lora", DownloadProgress.NONE))
                .hasMessageContaining("LoRA not found").hasMessageContaining("no model repository 'no/such-lora'");
        assertThatThrownBy(() -> store.lora("missing.safetensors", DownloadProgress.NONE))
                .hasMessageContaining("LoRA not found: missing.safetensors");
    }

    @Test
    void existingLocalFolderWinsOverHubId() throws Exception {
        // "target/<name>/onnx" has the form org/name/file, but it exists here, so it is a folder
        Path local = Files.createDirectories(Path.of("target", "hub-local-" + ProcessHandle.current().pid()));
        Path onnx = local.resolve("onnx");
        try {
            Files.createSymbolicLink(onnx, Fixtures.onnxModel().toAbsolutePath());
            assertThat(RepoRef.looksLikeHubId(onnx.toString())).isTrue();
            ModelStore.Resolved r = store().resolve(onnx.toString(), null, DiffusersConverter.Options.defaults(),
                    DiffusersConverter.Progress.NONE);
            assertThat(r.model()).isEqualTo(onnx);
            assertThat(hub.requests()).isEmpty();
        } finally {
            Files.deleteIfExists(onnx);
            Files.deleteIfExists(local);
        }
    }

    @Test
    void unknownModelSaysBothReadings() {
        assertThatThrownBy(() -> store().resolve("fake/nothing-here", null, DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE))
                .hasMessageContaining("model not found: 'fake/nothing-here' is not a local path")
                .hasMessageContaining("no model repository 'fake/nothing-here'");
        assertThatThrownBy(() -> store().resolve(MODEL, "fake/no-taesd", DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE)).hasMessageContaining("TAESD not found");
        assertThatThrownBy(() -> store().resolve("nothing", null, DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE)).hasMessageContaining("model not found: nothing")
                .hasMessageContaining("Hugging Face Hub id");
    }

    /**
     * The command line with Hub ids, the endpoint and caches given as system properties: the
     * public reference run of the Python original is reproduced on the downloaded and converted
     * model; then again with HF_HUB_OFFLINE=1 and no request at all.
     */
    @Test
    void commandLineReproducesTheReferenceRunFromTheHub() throws Exception {
        withHubProperties(() -> {
            runReference(dir.resolve("out"));
            assertThat(hub.requests()).anyMatch(r -> r.server().equals("hub") && "Bearer hf_e2e_token".equals(r.header("Authorization")));
            assertThat(hub.requests()).filteredOn(r -> r.server().equals("cdn")).isNotEmpty()
                    .allMatch(r -> r.header("Authorization") == null);

            hub.clearRequests();
            System.setProperty("HF_HUB_OFFLINE", "1");
            runReference(dir.resolve("out-offline"));
            assertThat(hub.requests()).isEmpty();
        });
    }

    /**
     * An ONNX repository whose weights sit in external data files ({@code model.onnx_data}): read
     * through the snapshot's links, whose targets (blobs named by hash) have other names.
     */
    /**
     * A repository in IDKiro/sdxs-512-0.9's layout (vae/ an AutoencoderTiny, vae_large/ the full
     * VAE; here a small random copy of that structure) loads by its id like any diffusers repo: the
     * tiny VAE becomes the model's TAESD, vae_large/ its VAE, and frames come out unsaturated.
     */
    @Test
    void sdxsLayoutRepoUsesItsVaeAsTheTinyVae() throws Exception {
        Path created = dir.resolve("small-sdxs");
        RandomModels.create(io.streamdiffusion4j.convert.SmallPresetsTest.smallSdxs(), "small-sdxs", 2, created, null);
        hub.addRepo("fake/small-sdxs", created);
        ModelStore.Resolved r = store().resolve("fake/small-sdxs", null, DiffusersConverter.Options.defaults(),
                DiffusersConverter.Progress.NONE);
        assertThat(r.taesd()).isNotNull();
        assertThat(r.taesd().resolve("vae_decoder/model.onnx")).exists();
        assertThat(r.model().resolve("vae_decoder/model.onnx")).as("vae_large/ converted as the full VAE").exists();
        withHubProperties(() -> {
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "img2img",
                    "--model", "fake/small-sdxs", "--width", "64", "--height", "64",
                    "--input", Fixtures.frames().toString(), "--output", dir.resolve("sdxs-out").toString());
            assertThat(code).as(err.toString()).isZero();
            assertThat(io.streamdiffusion4j.convert.SmallPresetsTest.clampedFraction(dir.resolve("sdxs-out"))).isLessThan(0.05);
        });
    }

    @Test
    void onnxWithExternalDataRunsFromTheSnapshot() throws Exception {
        Path converted = dir.resolve("converted");
        DiffusersConverter.convert(Fixtures.dir().resolve("models/tiny-sd-turbo"), converted,
                DiffusersConverter.Options.defaults(), DiffusersConverter.Progress.NONE);
        assertThat(converted.resolve("unet/model.onnx_data")).exists();
        hub.addRepo("fake/converted-onnx", converted);
        withHubProperties(() -> {
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "txt2img",
                    "--model", "fake/converted-onnx", "--taesd", TAESD_ONNX, "--width", "64", "--height", "64",
                    "--cfg-type", "none", "--t-index-list", "0", "--frames", "1", "--output", dir.resolve("txt").toString());
            assertThat(code).as(err.toString()).isZero();
            assertThat(dir.resolve("txt/000.png")).exists();
            // the UNet split reads its external weights through the snapshot's links (ONNX Runtime
            // refuses a reference whose real path leaves the folder it is given)
            assertThat(err.toString()).doesNotContain("cannot pre-compute the conditioning");
            Path data = dir.resolve("hf-cache/models--fake--converted-onnx/snapshots")
                    .resolve(hub.commit("fake/converted-onnx")).resolve("unet/model.onnx_data");
            assertThat(Files.isSymbolicLink(data)).isTrue();

            // the int8 copy of a snapshot links the real files, not the snapshot's relative links
            StringWriter err8 = new StringWriter();
            int code8 = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err8, true), "txt2img",
                    "--model", "fake/converted-onnx", "--quantize", "int8", "--taesd", TAESD_ONNX, "--width", "64",
                    "--height", "64", "--cfg-type", "none", "--t-index-list", "0", "--frames", "1",
                    "--output", dir.resolve("txt8").toString());
            assertThat(code8).as(err8.toString()).isZero();
            assertThat(dir.resolve("txt8/000.png")).exists();
        });
    }

    /**
     * The README's real-model commands, argument for argument, against a fake Hub that serves the
     * tiny fixtures under the real repository names; only the image size is 64 instead of 512, to
     * keep the test quick.
     */
    @Test
    void readmeHubCommandsRun() throws Exception {
        Path created = shared.resolve("created");
        hub.addRepo("stabilityai/sd-turbo", Fixtures.dir().resolve("models/tiny-sd-turbo"))
                .addRepo("madebyollin/taesd", created.resolve("taesd"))
                .addRepo("stable-diffusion-v1-5/stable-diffusion-v1-5", Fixtures.dir().resolve("models/tiny-sd-turbo"))
                .addRepo("latent-consistency/lcm-lora-sdv1-5",
                        Map.of("pytorch_lora_weights.safetensors", Files.readAllBytes(lora(shared))), null);
        List<List<String>> commands = List.of(
                List.of("img2img", "--model", "stabilityai/sd-turbo", "--taesd", "madebyollin/taesd",
                        "--config", "examples/img2img.json", "--width", "512", "--height", "512", "--t-index-list", "35,45",
                        "--cfg-type", "none", "--prompt", "a watercolor painting of a sunny meadow",
                        "--input", "examples/frames", "--output", dir.resolve("out-turbo").toString()),
                List.of("txt2img", "--model", "stabilityai/sd-turbo", "--taesd", "madebyollin/taesd",
                        "--width", "512", "--height", "512", "--t-index-list", "0", "--cfg-type", "none",
                        "--txt2img-method", "sd_turbo", "--prompt", "a photo of a red fox in the snow", "--frames", "4",
                        "--output", dir.resolve("out-turbo-txt").toString()),
                List.of("img2img", "--model", "stable-diffusion-v1-5/stable-diffusion-v1-5",
                        "--lora", "latent-consistency/lcm-lora-sdv1-5", "--taesd", "madebyollin/taesd",
                        "--config", "examples/img2img.json", "--width", "512", "--height", "512", "--t-index-list", "32,45",
                        "--cfg-type", "self", "--input", "examples/frames", "--output", dir.resolve("out-sd15").toString()));
        withHubProperties(() -> {
            for (List<String> c : commands) {
                StringWriter err = new StringWriter();
                String[] args = c.stream().map(a -> a.equals("512") ? "64" : a).toArray(String[]::new);
                int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), args);
                assertThat(code).as(String.join(" ", c) + "\n" + err).isZero();
            }
        });
        assertThat(dir.resolve("out-turbo/007.png")).exists();
        assertThat(dir.resolve("out-turbo-txt/003.png")).exists();
        assertThat(dir.resolve("out-sd15/007.png")).exists();
    }

    interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body} with the Hub and caches of this test given as system properties, restoring them after. */
    private void withHubProperties(Body body) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("HF_ENDPOINT", hub.endpoint().toString());
        props.put("HF_HUB_CACHE", dir.resolve("hf-cache").toString());
        props.put("HF_TOKEN", "hf_e2e_token");   // and not whatever the developer's environment holds
        props.put("streamdiffusion4j.cache", dir.resolve("cache").toString());
        Map<String, String> saved = new HashMap<>();
        for (String k : List.of("HF_ENDPOINT", "HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE", "streamdiffusion4j.cache")) {
            saved.put(k, System.getProperty(k));
        }
        try {
            props.forEach(System::setProperty);
            body.run();
        } finally {
            saved.forEach((k, v) -> {
                if (v == null) System.clearProperty(k);
                else System.setProperty(k, v);
            });
        }
    }

    private void runReference(Path out) throws Exception {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "img2img",
                "--model", MODEL, "--taesd", TAESD_ONNX,
                "--config", Fixtures.publicRun().resolve("config.json").toString(),
                "--input", Fixtures.frames().toString(), "--output", out.toString(), "--save-npy");
        assertThat(code).as(err.toString()).isZero();
        for (int i = 0; i < 8; i++) {
            String name = String.format("%03d.npy", i);
            FloatTensor actual = Npy.readFloats(out.resolve(name));
            FloatTensor expected = Npy.readFloats(Fixtures.publicRun().resolve("frames").resolve(name));
            TensorAssert.assertClose("frame " + i, actual, expected, 1e-3);
        }
    }

    /** A kohya-format LoRA for one attention projection of the fixture UNet. */
    static Path lora(Path dir) throws Exception {
        Path file = dir.resolve("lora.safetensors");
        if (Files.exists(file)) return file;
        String key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
        float[] down = new io.streamdiffusion4j.random.TorchGenerator(11).randn(4, 16).data();
        float[] up = new io.streamdiffusion4j.random.TorchGenerator(12).randn(16, 4).data();
        SafeTensors.write(file, List.of(
                new SafeTensors.Tensor(key + ".lora_down.weight", DType.F32, new int[] {4, 16}, down),
                new SafeTensors.Tensor(key + ".lora_up.weight", DType.F32, new int[] {16, 4}, up),
                new SafeTensors.Tensor(key + ".alpha", DType.F32, new int[] {}, new float[] {4})), Map.of());
        return file;
    }
}
