package io.streamdiffusion4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Settings read like Python's huggingface_hub, Hub ids as users write them, and which files each kind of repository needs. */
class HubSettingsTest {
    @TempDir
    Path home;

    @Test
    void defaultsFollowPython() throws Exception {
        HubSettings s = HubSettings.from(Map.of(), home);
        assertThat(s.endpoint()).isEqualTo(URI.create("https://huggingface.co"));
        assertThat(s.cacheDir()).isEqualTo(home.resolve(".cache/huggingface/hub"));
        assertThat(s.token()).isNull();
        assertThat(s.offline()).isFalse();
    }

    @Test
    void environmentVariablesInPythonsOrder() throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("XDG_CACHE_HOME", home.resolve("xdg").toString());
        assertThat(HubSettings.from(env, home).cacheDir()).isEqualTo(home.resolve("xdg/huggingface/hub"));
        env.put("HF_HOME", home.resolve("hf").toString());
        assertThat(HubSettings.from(env, home).cacheDir()).isEqualTo(home.resolve("hf/hub"));
        env.put("HF_HUB_CACHE", home.resolve("hub-cache").toString());
        assertThat(HubSettings.from(env, home).cacheDir()).isEqualTo(home.resolve("hub-cache"));

        // the token `huggingface-cli login` stored under HF_HOME, unless HF_TOKEN is set
        Files.createDirectories(home.resolve("hf"));
        Files.writeString(home.resolve("hf/token"), "hf_from_file\n");
        assertThat(HubSettings.from(env, home).token()).isEqualTo("hf_from_file");
        env.put("HF_TOKEN", "hf_from_env");
        assertThat(HubSettings.from(env, home).token()).isEqualTo("hf_from_env");

        env.put("HF_ENDPOINT", "https://hf-mirror.example.com/");
        assertThat(HubSettings.from(env, home).endpoint()).isEqualTo(URI.create("https://hf-mirror.example.com"));
        for (String yes : List.of("1", "true", "YES", "on")) {
            env.put("HF_HUB_OFFLINE", yes);
            assertThat(HubSettings.from(env, home).offline()).as(yes).isTrue();
        }
        env.put("HF_HUB_OFFLINE", "0");
        assertThat(HubSettings.from(env, home).offline()).isFalse();
        assertThat(HubSettings.from(env, home).downloadTimeout()).isEqualTo(java.time.Duration.ofSeconds(10));
        env.put("HF_HUB_DOWNLOAD_TIMEOUT", "2.5");
        assertThat(HubSettings.from(env, home).downloadTimeout()).isEqualTo(java.time.Duration.ofMillis(2500));
        env.put("HF_HUB_DOWNLOAD_TIMEOUT", "soon");
        assertThatThrownBy(() -> HubSettings.from(env, home)).hasMessageContaining("HF_HUB_DOWNLOAD_TIMEOUT");
        env.remove("HF_HUB_DOWNLOAD_TIMEOUT");

        env.put("HF_ENDPOINT", "ftp://nope");
        assertThatThrownBy(() -> HubSettings.from(env, home)).hasMessageContaining("HF_ENDPOINT");
    }

    @Test
    void repoReferences() {
        RepoRef plain = RepoRef.parse("stabilityai/sd-turbo");
        assertThat(plain).isEqualTo(new RepoRef("stabilityai/sd-turbo", "main", null));
        assertThat(plain.cacheFolderName()).isEqualTo("models--stabilityai--sd-turbo");
        assertThat(RepoRef.parse("org/name@v1.0").revision()).isEqualTo("v1.0");
        assertThat(RepoRef.parse("org/name@refs/pr/3").revision()).isEqualTo("refs/pr/3");
        RepoRef file = RepoRef.parse("org/name/sub/model.safetensors@abc");
        assertThat(file.file()).isEqualTo("sub/model.safetensors");
        assertThat(file.revision()).isEqualTo("abc");
        assertThat(RepoRef.parse("org/name@0123456789abcdef0123456789abcdef01234567").pinned()).isTrue();

        assertThat(RepoRef.looksLikeHubId("madebyollin/taesd")).isTrue();
        for (String notHub : List.of("tiny", "./models/x", "/abs/path", "../x/y", "~/m/x", "C:\\models\\x", "a//b",
                "org/na--me", "org/name@", "-org/name", "org/../x")) {
            assertThat(RepoRef.looksLikeHubId(notHub)).as(notHub).isFalse();
        }
        assertThatThrownBy(() -> RepoRef.parse("justaname")).hasMessageContaining("org/name");
    }

    @Test
    void diffusersSelectionMirrorsWhatTheConverterReads() throws Exception {
        RepoRef ref = new RepoRef("org/sd");
        Set<String> files = Set.of("model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                "tokenizer/merges.txt", "tokenizer/tokenizer_config.json", "text_encoder/config.json",
                "text_encoder/model.safetensors", "text_encoder/model.fp16.safetensors", "text_encoder/pytorch_model.bin",
                "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.bin",
                "vae/config.json", "vae/diffusion_pytorch_model.safetensors.index.json",
                "vae/diffusion_pytorch_model-00001-of-00002.safetensors",
                "vae/diffusion_pytorch_model-00002-of-00002.safetensors", "vae/diffusion_pytorch_model.safetensors.fp16",
                "safety_checker/model.safetensors", "feature_extractor/preprocessor_config.json", "v1-5-pruned.safetensors",
                "unet/diffusion_pytorch_model.msgpack");
        FileSelector.Selection sel = RepoLayouts.model().select(ref, files);
        assertThat(sel.layout()).isEqualTo(FileSelector.Layout.DIFFUSERS);
        assertThat(sel.files()).containsExactlyInAnyOrder("model_index.json", "scheduler/scheduler_config.json",
                "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
                "text_encoder/config.json", "text_encoder/model.safetensors",
                "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",   // the only safetensors there
                "vae/config.json", "vae/diffusion_pytorch_model.safetensors.index.json",
                "vae/diffusion_pytorch_model-00001-of-00002.safetensors",
                "vae/diffusion_pytorch_model-00002-of-00002.safetensors");

        Set<String> oneShardMissing = new java.util.HashSet<>(files);
        oneShardMissing.remove("vae/diffusion_pytorch_model-00002-of-00002.safetensors");
        assertThatThrownBy(() -> RepoLayouts.model().select(ref, oneShardMissing))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(HubException.Reason.MISSING_COMPONENTS))
                .hasMessageContaining("vae/diffusion_pytorch_model.safetensors.index.json")
                .hasMessageContaining("1 of 2 are present");
        assertThatThrownBy(() -> RepoLayouts.taesd().select(ref, Set.of("config.json", "x.safetensors", "y.safetensors")))
                .hasMessageContaining("none of them standard");
    }

    @Test
    void onnxTaesdAndLoraSelections() throws Exception {
        RepoRef ref = new RepoRef("org/x");
        FileSelector.Selection onnx = RepoLayouts.model().select(ref, Set.of("model_index.json",
                "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "text_encoder/model.onnx", "text_encoder/config.json", "unet/model.onnx", "unet/model.onnx_data",
                "unet/config.json", "vae_decoder/model.onnx", "vae_encoder/model.onnx", "safety_checker/model.onnx",
                "unet/diffusion_pytorch_model.safetensors"));
        assertThat(onnx.layout()).isEqualTo(FileSelector.Layout.ONNX);
        assertThat(onnx.files()).contains("unet/model.onnx_data", "vae_encoder/model.onnx")
                .doesNotContain("safety_checker/model.onnx", "unet/diffusion_pytorch_model.safetensors");

        FileSelector.Selection taesd = RepoLayouts.taesd().select(new RepoRef("madebyollin/taesd"), Set.of("config.json",
                "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", "taesd_decoder.safetensors",
                "taesd_encoder.safetensors", "taesd_decoder.pth", "README.md"));
        assertThat(taesd.layout()).isEqualTo(FileSelector.Layout.TAESD_DIFFUSERS);
        assertThat(taesd.files()).containsExactly("config.json", "diffusion_pytorch_model.safetensors");

        assertThat(RepoLayouts.lora().select(ref, Set.of("pytorch_lora_weights.safetensors", "README.md")).files())
                .containsExactly("pytorch_lora_weights.safetensors");
        assertThat(RepoLayouts.lora().select(ref, Set.of("style.safetensors")).files()).containsExactly("style.safetensors");
        assertThatThrownBy(() -> RepoLayouts.lora().select(ref, Set.of("a.safetensors", "b.safetensors")))
                .hasMessageContaining("org/x/a.safetensors");
    }
}
