package io.streamdiffusion4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.cli.Main;
import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.IpAdapterFolder;
import io.streamdiffusion4j.convert.IpAdapterPreset;
import io.streamdiffusion4j.convert.IpAdapterStore;
import io.streamdiffusion4j.convert.ModelStore;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.SafeTensors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * IP-Adapters by Hub id against a local fake Hub serving a repository laid out like
 * h94/IP-Adapter (models/ip-adapter_sd15.safetensors, a second "light" adapter, image_encoder/ with
 * its safetensors and a pickle beside it, a plus adapter, sdxl_models/), made from the
 * {@code tiny-ip-adapter} preset: only the adapter and its encoder are downloaded, another adapter
 * of the repository is named by its path, SDXL and other image projections are refused with what
 * was found, and {@code img2img --ip-adapter ID} (and the run config's ip_adapter) give the same
 * frames as the same adapter from a local folder.
 */
class HubIpAdapterTest {
    static final String REPO = "fake/IP-Adapter";
    static final String RESAMPLER = "fake/resampler-adapter";

    @TempDir
    static Path shared;
    static FakeHub hub;
    static Path local;

    @TempDir
    Path dir;

    @BeforeAll
    static void startHub() throws Exception {
        local = shared.resolve("local");
        RandomModels.create(IpAdapterPreset.TINY, 5, local, null);
        Path light = shared.resolve("light");
        RandomModels.create(IpAdapterPreset.TINY, 6, light, null);
        Path h94 = Files.createDirectories(shared.resolve("h94/models/image_encoder"));
        Files.copy(local.resolve("ip-adapter.safetensors"), h94.resolveSibling("ip-adapter_sd15.safetensors"));
        Files.copy(light.resolve("ip-adapter.safetensors"), h94.resolveSibling("ip-adapter_sd15_light.safetensors"));
        Files.copy(local.resolve("image_encoder/config.json"), h94.resolve("config.json"));
        Files.copy(local.resolve("image_encoder/model.safetensors"), h94.resolve("model.safetensors"));
        Files.writeString(h94.resolve("pytorch_model.bin"), "a pickle, never downloaded");
        Files.writeString(h94.resolveSibling("ip-adapter_sd15.bin"), "a pickle, never downloaded");
        Path plus = h94.resolveSibling("ip-adapter-plus_sd15.safetensors");
        resampler(plus);
        Path sdxl = Files.createDirectories(shared.resolve("h94/sdxl_models/image_encoder"));
        Files.copy(local.resolve("image_encoder/config.json"), sdxl.resolve("config.json"));
        Files.copy(local.resolve("image_encoder/model.safetensors"), sdxl.resolve("model.safetensors"));
        Files.copy(local.resolve("ip-adapter.safetensors"), sdxl.resolveSibling("ip-adapter_sdxl.safetensors"));
        // a repository in this project's layout whose only adapter has a Resampler projection (not named "plus")
        Path other = Files.createDirectories(shared.resolve("resampler/image_encoder"));
        Files.copy(local.resolve("image_encoder/config.json"), other.resolve("config.json"));
        Files.copy(local.resolve("image_encoder/model.safetensors"), other.resolve("model.safetensors"));
        Files.copy(plus, other.resolveSibling("ip-adapter.safetensors"));
        hub = new FakeHub().addRepo(REPO, shared.resolve("h94")).addRepo(RESAMPLER, shared.resolve("resampler"));
    }

    /** The tensor names of ip-adapter-plus_sd15's Resampler projection (a few of them, small shapes). */
    private static void resampler(Path file) throws Exception {
        List<SafeTensors.Spec> specs = new ArrayList<>();
        for (String n : List.of("image_proj.latents", "image_proj.proj_in.weight", "image_proj.proj_out.weight",
                "image_proj.norm_out.weight", "image_proj.layers.0.0.to_q.weight", "ip_adapter.1.to_k_ip.weight")) {
            specs.add(new SafeTensors.Spec(n, io.streamdiffusion4j.weights.DType.F32, new int[] {2, 4}));
        }
        SafeTensors.write(file, specs, s -> new float[8], Map.of("format", "pt"));
    }

    @AfterAll
    static void stopHub() {
        hub.close();
    }

    ModelStore store() {
        return new ModelStore(dir.resolve("cache"), new HubSettings(hub.endpoint(), null, dir.resolve("hf-cache"), false));
    }

    /** The repository files the client fetched (HEAD or GET on resolve/), in order. */
    private static List<String> fetched() {
        List<String> out = new ArrayList<>();
        for (FakeHub.Request r : hub.requests()) {
            int at = r.path().indexOf("/resolve/");
            if (!r.server().equals("hub") || at < 0) continue;
            String rest = r.path().substring(at + "/resolve/".length());
            String file = rest.substring(rest.indexOf('/') + 1);
            if (!out.contains(file)) out.add(file);
        }
        return out;
    }

    @Test
    void theRepositoryIdFetchesTheSd15AdapterAndItsEncoderOnly() throws Exception {
        hub.clearRequests();
        IpAdapterFolder f = store().ipAdapter(REPO, DownloadProgress.NONE);
        assertThat(fetched()).containsExactlyInAnyOrder("models/ip-adapter_sd15.safetensors", "models/image_encoder/config.json",
                "models/image_encoder/model.safetensors");
        assertThat(f.weights()).startsWithRaw(dir.resolve("hf-cache/models--fake--IP-Adapter/snapshots"));
        assertThat(f.weights().getFileName().toString()).isEqualTo("ip-adapter_sd15.safetensors");
        assertThat(Files.mismatch(f.weights(), local.resolve("ip-adapter.safetensors"))).isEqualTo(-1L);
        assertThat(f.imageEncoder().resolve("model.safetensors")).exists();
        assertThat(f.imageEncoder().resolve("pytorch_model.bin")).doesNotExist();

        // the second time it comes from the cache, as the ControlNets do
        hub.clearRequests();
        assertThat(store().ipAdapter(REPO, DownloadProgress.NONE)).isEqualTo(f);
        assertThat(fetched()).isEmpty();
    }

    @Test
    void anotherAdapterOfTheRepositoryIsNamedByItsPath() throws Exception {
        hub.clearRequests();
        IpAdapterFolder f = store().ipAdapter(REPO + "/models/ip-adapter_sd15_light.safetensors", DownloadProgress.NONE);
        assertThat(f.weights().getFileName().toString()).isEqualTo("ip-adapter_sd15_light.safetensors");
        assertThat(Files.mismatch(f.weights(), shared.resolve("light/ip-adapter.safetensors"))).isEqualTo(-1L);
        assertThat(fetched()).containsExactlyInAnyOrder("models/ip-adapter_sd15_light.safetensors",
                "models/image_encoder/config.json", "models/image_encoder/model.safetensors");
        // built into the tiny model like a local adapter
        Path model = store().builtInTiny(DiffusersConverter.Progress.NONE);
        IpAdapterStore.Variant v = IpAdapterStore.prepare(dir.resolve("cache"), model, f, DiffusersConverter.Progress.NONE);
        assertThat(v.unet().resolve("model.onnx")).exists();
        assertThat(v.tokens()).isEqualTo(IpAdapterPreset.TINY.tokens());
    }

    @Test
    void unsupportedAdaptersAreRefusedSayingWhatWasFound() throws Exception {
        hub.clearRequests();
        assertThatThrownBy(() -> store().ipAdapter(REPO + "/sdxl_models/ip-adapter_sdxl.safetensors", DownloadProgress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("SDXL IP-Adapter").hasMessageContaining("not supported");
        assertThatThrownBy(() -> store().ipAdapter(REPO + "/models/ip-adapter-plus_sd15.safetensors", DownloadProgress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("Resampler");
        assertThat(fetched()).as("refused by name before any download").isEmpty();
        assertThatThrownBy(() -> store().ipAdapter(REPO + "/models/ip-adapter_sd15.bin", DownloadProgress.NONE))
                .isInstanceOf(HubException.class).hasMessageContaining("PyTorch pickle")
                .hasMessageContaining("fake/IP-Adapter/FILE: models/ip-adapter-plus_sd15.safetensors");
        assertThatThrownBy(() -> store().ipAdapter(REPO + "/models/missing.safetensors", DownloadProgress.NONE))
                .isInstanceOf(HubException.class).hasMessageContaining("has no file 'models/missing.safetensors'");

        // the content is checked too: a Resampler projection under a plain name
        IpAdapterFolder f = store().ipAdapter(RESAMPLER, DownloadProgress.NONE);
        Path model = store().builtInTiny(DiffusersConverter.Progress.NONE);
        assertThatThrownBy(() -> IpAdapterStore.prepare(dir.resolve("cache"), model, f, DiffusersConverter.Progress.NONE))
                .isInstanceOf(InputFileException.class)
                .hasMessageContaining("found a Resampler image projection (ip-adapter-plus / plus-face: image_proj.latents")
                .hasMessageContaining("expected the plain IP-Adapter's ImageProjection (image_proj.proj.weight/bias");
        assertThatThrownBy(() -> store().ipAdapter(dir.resolve("nowhere").toString(), DownloadProgress.NONE))
                .isInstanceOf(InputFileException.class).hasMessageContaining("no such IP-Adapter folder or file");
    }

    @Test
    void theSelectorTakesTheDefaultOrTheOnlyAdapterAndNamesTheChoicesOtherwise() throws Exception {
        FileSelector ip = RepoLayouts.ipAdapter();
        java.util.Set<String> encoder = java.util.Set.of("models/image_encoder/config.json", "models/image_encoder/model.safetensors");
        java.util.Set<String> one = new java.util.HashSet<>(encoder);
        one.add("models/ip-adapter_sd15_light.safetensors");
        assertThat(ip.select(RepoRef.parse("a/b"), one).files()).containsExactly("models/ip-adapter_sd15_light.safetensors",
                "models/image_encoder/config.json", "models/image_encoder/model.safetensors");
        java.util.Set<String> two = new java.util.HashSet<>(one);
        two.add("models/ip-adapter-other.safetensors");
        assertThatThrownBy(() -> ip.select(RepoRef.parse("a/b"), two)).isInstanceOf(HubException.class)
                .hasMessageContaining("several IP-Adapters")
                .hasMessageContaining("a/b/FILE: models/ip-adapter-other.safetensors, models/ip-adapter_sd15_light.safetensors");
        assertThatThrownBy(() -> ip.select(RepoRef.parse("a/b/models/ip-adapter_sd15_light.safetensors"),
                java.util.Set.of("models/ip-adapter_sd15_light.safetensors", "models/image_encoder/config.json",
                        "models/image_encoder/pytorch_model.bin")))
                .isInstanceOf(HubException.class).hasMessageContaining("missing safetensors weights in models/image_encoder/");
    }

    @Test
    void img2imgTakesAnAdapterByHubIdAsFromAFolder() throws Exception {
        Path frames = Files.createDirectories(dir.resolve("frames"));
        for (int i = 0; i < 2; i++) {
            Files.copy(Path.of("examples/frames", String.format("%03d.png", i)), frames.resolve(String.format("%03d.png", i)));
        }
        Map<String, String> saved = new HashMap<>();
        for (String k : List.of("HF_ENDPOINT", "HF_HUB_CACHE", "HF_TOKEN")) saved.put(k, System.getProperty(k));
        System.setProperty("HF_ENDPOINT", hub.endpoint().toString());
        System.setProperty("HF_HUB_CACHE", dir.resolve("hf-cache").toString());
        System.setProperty("HF_TOKEN", "");
        try {
            Path fromHub = dir.resolve("hub");
            img2img(frames, fromHub, "--ip-adapter", REPO + ":0.8", "--style-image", "examples/frames/002.png");
            Path fromFolder = dir.resolve("folder");
            img2img(frames, fromFolder, "--ip-adapter", local + ":0.8", "--style-image", "examples/frames/002.png");
            Path plain = dir.resolve("plain");
            img2img(frames, plain);
            // the run config's ip_adapter takes the same ids
            Path config = dir.resolve("ip.json");
            String json = Files.readString(Path.of("examples/img2img.json")).strip();
            Files.writeString(config, json.substring(0, json.lastIndexOf('}'))
                    + ", \"ip_adapter\": \"" + REPO + "\", \"ip_adapter_scale\": 0.8, \"style_image\": \"examples/frames/002.png\"}");
            Path fromConfig = dir.resolve("config");
            img2img(frames, fromConfig, config);
            for (int i = 0; i < 2; i++) {
                String name = String.format("%03d.png", i);
                assertThat(fromHub.resolve(name)).hasSameBinaryContentAs(fromFolder.resolve(name));
                assertThat(fromConfig.resolve(name)).hasSameBinaryContentAs(fromFolder.resolve(name));
            }
            assertThat(Files.mismatch(fromHub.resolve("000.png"), plain.resolve("000.png"))).as("the adapter changes the frames")
                    .isNotEqualTo(-1L);

            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "img2img", "--model", "tiny",
                    "--config", "examples/img2img.json", "--width", "64", "--height", "64", "--input", frames.toString(),
                    "--output", dir.resolve("bad").toString(), "--ip-adapter", REPO + "/sdxl_models/ip-adapter_sdxl.safetensors");
            assertThat(code).as(err.toString()).isEqualTo(2);
            assertThat(err.toString()).contains("SDXL IP-Adapter").contains("not supported");
        } finally {
            saved.forEach((k, v) -> {
                if (v == null) System.clearProperty(k);
                else System.setProperty(k, v);
            });
        }
    }

    private static void img2img(Path frames, Path out, String... extra) {
        img2img(frames, out, Path.of("examples/img2img.json"), extra);
    }

    private static void img2img(Path frames, Path out, Path config, String... extra) {
        List<String> a = new ArrayList<>(List.of("img2img", "--model", "tiny", "--config", config.toString(), "--width", "64",
                "--height", "64", "--input", frames.toString(), "--output", out.toString()));
        a.addAll(List.of(extra));
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), a.toArray(String[]::new));
        assertThat(code).as(err.toString()).isZero();
    }
}
