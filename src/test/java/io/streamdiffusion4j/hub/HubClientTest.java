package io.streamdiffusion4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.hub.HubException.Reason;
import io.streamdiffusion4j.testing.Fixtures;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Hub client against a fake Hub on 127.0.0.1: downloads, the shared cache, resume, checksums, tokens, errors. */
class HubClientTest {
    static final String REPO = "fake/tiny-sd-turbo";
    static final String ONNX = "fake/tiny-sd-turbo-onnx";
    static final String GATED = "fake/gated";
    static final String TOKEN = "hf_test_secret";
    static final String UNET = "unet/diffusion_pytorch_model.safetensors";

    @TempDir
    Path dir;
    FakeHub hub;
    Map<String, byte[]> diffusers;

    @BeforeEach
    void startHub() throws IOException {
        diffusers = files(Fixtures.dir().resolve("models/tiny-sd-turbo"));
        Map<String, byte[]> withExtras = new TreeMap<>(diffusers);
        // what real repositories hold besides: none of it may be downloaded
        withExtras.put("unet/diffusion_pytorch_model.bin", bytes("pickle"));
        withExtras.put("unet/diffusion_pytorch_model.fp16.safetensors", bytes("half"));
        withExtras.put("sd_turbo.safetensors", bytes("single file"));
        withExtras.put("README.md", bytes("# tiny"));
        hub = new FakeHub()
                .addRepo(REPO, withExtras, null)
                .addRepo(ONNX, Fixtures.onnxModel())
                .addRepo(GATED, diffusers, TOKEN);
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    HubSettings settings(String token) {
        return new HubSettings(hub.endpoint(), token, dir.resolve("hf-cache"), false);
    }

    Snapshot fetch(HubSettings s, String ref) throws IOException {
        try (HubClient client = new HubClient(s)) {
            return client.fetch(RepoRef.parse(ref), RepoLayouts.model(), DownloadProgress.NONE);
        }
    }

    @Test
    void freshDownloadLandsInPythonsCacheLayout() throws Exception {
        Snapshot snap = fetch(settings(null), REPO);

        Path repoDir = dir.resolve("hf-cache/models--fake--tiny-sd-turbo");
        String commit = hub.commit(REPO);
        assertThat(snap.commit()).isEqualTo(commit);
        assertThat(snap.layout()).isEqualTo(FileSelector.Layout.DIFFUSERS);
        assertThat(snap.dir()).isEqualTo(repoDir.resolve("snapshots").resolve(commit));
        assertThat(Files.readString(repoDir.resolve("refs/main"))).isEqualTo(commit);
        assertThat(snap.files().keySet()).containsExactlyInAnyOrderElementsOf(diffusers.keySet());
        for (var e : diffusers.entrySet()) {
            Path link = snap.dir().resolve(e.getKey());
            assertThat(Files.isSymbolicLink(link)).as(e.getKey()).isTrue();
            Path target = Files.readSymbolicLink(link);
            String etag = FakeHub.isLfs(e.getKey()) ? FakeHub.sha256(e.getValue()) : FakeHub.gitBlobSha1(e.getValue());
            int depth = e.getKey().split("/").length;   // snapshots/<commit>/<dirs...>/file -> ../ per level
            assertThat(target.toString()).as(e.getKey()).isEqualTo("../".repeat(depth + 1) + "blobs/" + etag);
            assertThat(Files.readAllBytes(link)).as(e.getKey()).isEqualTo(e.getValue());
            assertThat(snap.files().get(e.getKey())).isEqualTo(etag);
        }
        try (Stream<Path> blobs = Files.list(repoDir.resolve("blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".incomplete"))
                    .hasSize(diffusers.size());
        }
        // only the needed files travel: no pickle, no fp16 variant, no single-file checkpoint, no README
        assertThat(hub.requests()).noneMatch(r -> r.path().endsWith(".bin") || r.path().contains("fp16")
                || r.path().contains("sd_turbo.safetensors") || r.path().contains("README"));
        assertThat(hub.requests()).anyMatch(r -> r.server().equals("cdn"));
    }

    @Test
    void onnxRepositoryFilesAreFetchedAsTheyAre() throws Exception {
        Snapshot snap = fetch(settings(null), ONNX);
        assertThat(snap.layout()).isEqualTo(FileSelector.Layout.ONNX);
        Map<String, byte[]> expected = files(Fixtures.onnxModel());
        assertThat(snap.files().keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        for (var e : expected.entrySet()) assertThat(Files.readAllBytes(snap.file(e.getKey()))).isEqualTo(e.getValue());
    }

    @Test
    void interruptedTransferResumesWithRange() throws Exception {
        byte[] unet = diffusers.get(UNET);
        long half = unet.length / 2;
        hub.cutNextTransfer(REPO, UNET, half);
        List<String> notes = new ArrayList<>();
        DownloadProgress progress = new DownloadProgress() {
            @Override public void start(String task, long totalBytes) {}
            @Override public void advance(long bytesDone) {}
            @Override public void note(String message) { notes.add(message); }
        };
        try (HubClient client = new HubClient(settings(null))) {
            assertThatThrownBy(() -> client.fetch(RepoRef.parse(REPO), RepoLayouts.model(), progress))
                    .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.INTERRUPTED))
                    .hasMessageContaining(UNET).hasMessageContaining("run the same command again to resume");
        }
        String sha = FakeHub.sha256(unet);
        Path partial = dir.resolve("hf-cache/models--fake--tiny-sd-turbo/blobs/" + sha + ".incomplete");
        assertThat(partial).exists();
        // what arrived before the connection dropped (bytes still in flight may be lost with it)
        long kept = Files.size(partial);
        assertThat(kept).isPositive().isLessThanOrEqualTo(half);
        assertThat(Files.readAllBytes(partial)).isEqualTo(java.util.Arrays.copyOf(unet, (int) kept));
        assertThat(dir.resolve("hf-cache/models--fake--tiny-sd-turbo/blobs/" + sha)).doesNotExist();

        hub.clearRequests();
        Snapshot snap;
        try (HubClient client = new HubClient(settings(null))) {
            snap = client.fetch(RepoRef.parse(REPO), RepoLayouts.model(), progress);
        }
        List<FakeHub.Request> unetGets = hub.requests().stream()
                .filter(r -> r.server().equals("cdn") && r.path().endsWith(sha)).toList();
        assertThat(unetGets).hasSize(1);
        assertThat(unetGets.getFirst().header("Range")).isEqualTo("bytes=" + kept + "-");
        assertThat(Files.readAllBytes(snap.file(UNET))).isEqualTo(unet);
        assertThat(partial).doesNotExist();
        assertThat(notes).anyMatch(n -> n.startsWith("resuming " + REPO + "/" + UNET));
        // files completed before the cut were not fetched again
        assertThat(hub.requests()).noneMatch(r -> r.path().endsWith("text_encoder/model.safetensors"));
    }

    @Test
    void stalledTransferTimesOutAndResumes() throws Exception {
        byte[] unet = diffusers.get(UNET);
        hub.stallNextTransfer(REPO, UNET, unet.length / 3);
        HubSettings quick = settings(null).withDownloadTimeout(java.time.Duration.ofMillis(500));
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> fetch(quick, REPO))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.INTERRUPTED))
                .hasMessageContaining("HF_HUB_DOWNLOAD_TIMEOUT").hasMessageContaining("run the same command again");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(20);
        Path partial = dir.resolve("hf-cache/models--fake--tiny-sd-turbo/blobs/" + FakeHub.sha256(unet) + ".incomplete");
        assertThat(Files.size(partial)).isPositive();
        assertThat(Files.readAllBytes(fetch(quick, REPO).file(UNET))).isEqualTo(unet);
    }

    @Test
    void cacheHitMakesNoRequest() throws Exception {
        Snapshot first = fetch(settings(null), REPO);
        hub.clearRequests();
        Snapshot second = fetch(settings(null), REPO);
        assertThat(hub.requests()).isEmpty();
        assertThat(second.dir()).isEqualTo(first.dir());
        assertThat(second.contentKey()).isEqualTo(first.contentKey());
    }

    /** A cache written the way Python's huggingface_hub writes it (here: fp16 UNet weights only) is used as it is. */
    @Test
    void cacheWrittenByPythonIsUsedWithoutDownloading() throws Exception {
        Path repoDir = dir.resolve("hf-cache/models--fake--tiny-sd-turbo");
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Files.createDirectories(repoDir.resolve("refs"));
        Files.writeString(repoDir.resolve("refs/main"), commit);
        for (var e : diffusers.entrySet()) {
            String path = e.getKey().equals(UNET) ? "unet/diffusion_pytorch_model.fp16.safetensors" : e.getKey();
            String etag = FakeHub.isLfs(path) ? FakeHub.sha256(e.getValue()) : FakeHub.gitBlobSha1(e.getValue());
            Path blob = Files.createDirectories(repoDir.resolve("blobs")).resolve(etag);
            Files.write(blob, e.getValue());
            Path link = repoDir.resolve("snapshots").resolve(commit).resolve(path);
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, link.getParent().relativize(blob));
        }
        List<String> notes = new ArrayList<>();
        Snapshot snap;
        try (HubClient client = new HubClient(settings(null))) {
            snap = client.fetch(RepoRef.parse(REPO), RepoLayouts.model(), new DownloadProgress() {
                @Override public void start(String task, long totalBytes) {}
                @Override public void advance(long bytesDone) {}
                @Override public void note(String message) { notes.add(message); }
            });
        }
        assertThat(hub.requests()).isEmpty();
        assertThat(snap.commit()).isEqualTo(commit);
        assertThat(snap.files()).containsKey("unet/diffusion_pytorch_model.fp16.safetensors").doesNotContainKey(UNET);
        assertThat(notes).anyMatch(n -> n.contains("float16 weights already in the cache"));
    }

    @Test
    void offlineUsesTheCacheAndNamesWhatIsMissing() throws Exception {
        HubSettings offline = settings(null).withOffline(true);
        assertThatThrownBy(() -> fetch(offline, REPO))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.OFFLINE_MISSING))
                .hasMessageContaining("HF_HUB_OFFLINE").hasMessageContaining("never downloaded")
                .hasMessageContaining("refs/main");
        assertThat(hub.requests()).isEmpty();

        Snapshot online = fetch(settings(null), REPO);
        hub.clearRequests();
        assertThat(fetch(offline, REPO).dir()).isEqualTo(online.dir());
        assertThat(hub.requests()).isEmpty();

        Files.delete(online.file(UNET));
        assertThatThrownBy(() -> fetch(offline, REPO))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.OFFLINE_MISSING))
                .hasMessageContaining("HF_HUB_OFFLINE").hasMessageContaining("incomplete")
                .hasMessageContaining("weights in unet/");
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void corruptedDownloadIsDetectedAndNotKept() throws Exception {
        hub.corrupt(REPO, UNET);
        String sha = FakeHub.sha256(diffusers.get(UNET));
        assertThatThrownBy(() -> fetch(settings(null), REPO))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageContaining(UNET).hasMessageContaining("SHA-256").hasMessageContaining(sha)
                .hasMessageContaining("deleted");
        Path blobs = dir.resolve("hf-cache/models--fake--tiny-sd-turbo/blobs");
        assertThat(blobs.resolve(sha)).doesNotExist();
        assertThat(blobs.resolve(sha + ".incomplete")).doesNotExist();
        assertThat(dir.resolve("hf-cache/models--fake--tiny-sd-turbo/snapshots/" + hub.commit(REPO) + "/" + UNET)).doesNotExist();

        hub.repair(REPO, UNET);
        assertThat(Files.readAllBytes(fetch(settings(null), REPO).file(UNET))).isEqualTo(diffusers.get(UNET));
    }

    @Test
    void damagedCachedBlobIsNotUsed() throws Exception {
        Snapshot snap = fetch(settings(null), REPO);
        Path blob = snap.file(UNET).toRealPath();
        byte[] bad = diffusers.get(UNET).clone();
        bad[100] ^= 1;
        Files.write(blob, bad);

        HubSettings offline = settings(null).withOffline(true);
        assertThatThrownBy(() -> fetch(offline, REPO))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageContaining("damaged").hasMessageContaining(UNET);

        hub.clearRequests();
        Snapshot again = fetch(settings(null), REPO);
        assertThat(Files.readAllBytes(again.file(UNET))).isEqualTo(diffusers.get(UNET));
        String sha = FakeHub.sha256(diffusers.get(UNET));
        assertThat(hub.requests()).anyMatch(r -> r.server().equals("cdn") && r.path().endsWith(sha));
    }

    @Test
    void tokenGoesToTheHubOnlyNeverToTheCdn() throws Exception {
        Snapshot snap = fetch(settings(TOKEN), GATED);
        assertThat(Files.readAllBytes(snap.file(UNET))).isEqualTo(diffusers.get(UNET));
        List<FakeHub.Request> toHub = hub.requests().stream().filter(r -> r.server().equals("hub")).toList();
        List<FakeHub.Request> toCdn = hub.requests().stream().filter(r -> r.server().equals("cdn")).toList();
        assertThat(toHub).isNotEmpty().allMatch(r -> ("Bearer " + TOKEN).equals(r.header("Authorization")));
        assertThat(toCdn).isNotEmpty().allMatch(r -> r.header("Authorization") == null);
        assertThat(toCdn).allMatch(r -> r.headers().values().stream().noneMatch(v -> v.contains(TOKEN)));
        assertThat(settings(TOKEN).toString()).doesNotContain(TOKEN);
    }

    @Test
    void gatedModelWithoutTokenNamesHfToken() {
        assertThatThrownBy(() -> fetch(settings(null), GATED))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNAUTHORIZED))
                .hasMessageContaining("gated").hasMessageContaining("HF_TOKEN").hasMessageContaining("no token was sent");
        assertThatThrownBy(() -> fetch(settings("hf_wrong"), GATED))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNAUTHORIZED))
                .hasMessageContaining("HF_TOKEN").hasMessageContaining("has no access");
    }

    @Test
    void unknownRepositoryAndRevision() {
        assertThatThrownBy(() -> fetch(settings(null), "fake/no-such-model"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NOT_FOUND))
                .hasMessageContaining("no model repository 'fake/no-such-model'").hasMessageContaining("HF_TOKEN");
        assertThatThrownBy(() -> fetch(settings(null), REPO + "@v9"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NOT_FOUND))
                .hasMessageContaining("no revision 'v9'");
    }

    @Test
    void repositoryWithoutTheNeededComponents() throws Exception {
        Map<String, byte[]> files = new TreeMap<>(diffusers);
        files.remove(UNET);
        files.put("unet/diffusion_pytorch_model.bin", bytes("pickle"));
        files.keySet().removeIf(f -> f.startsWith("vae/"));
        hub.addRepo("fake/incomplete", files, null);
        assertThatThrownBy(() -> fetch(settings(null), "fake/incomplete"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.MISSING_COMPONENTS))
                .hasMessageContaining("unet/").hasMessageContaining("only PyTorch pickles")
                .hasMessageContaining("vae/config.json");
        assertThat(hub.requests()).noneMatch(r -> r.path().contains("/resolve/"));

        hub.addRepo("fake/not-a-pipeline", Map.of("README.md", bytes("hi"), "model.safetensors", bytes("x")), null);
        assertThatThrownBy(() -> fetch(settings(null), "fake/not-a-pipeline"))
                .hasMessageContaining("is not a Stable Diffusion repository")
                .hasMessageContaining("fake/not-a-pipeline/model.safetensors");
    }

    @Test
    void pinnedCommitNeedsNoRef() throws Exception {
        String commit = hub.commit(REPO);
        Snapshot snap = fetch(settings(null), REPO + "@" + commit);
        assertThat(snap.commit()).isEqualTo(commit);
        Path refs = dir.resolve("hf-cache/models--fake--tiny-sd-turbo/refs");
        assertThat(!Files.exists(refs) || Files.list(refs).findAny().isEmpty()).isTrue();
        hub.clearRequests();
        fetch(settings(null), REPO + "@" + commit);
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void noNetworkSaysSoAndPointsAtOfflineMode() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        HubSettings unreachable = new HubSettings(URI.create("http://127.0.0.1:" + port), null, dir.resolve("hf-cache"), false);
        assertThatThrownBy(() -> fetch(unreachable, REPO))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NETWORK))
                .hasMessageContaining("127.0.0.1:" + port).hasMessageContaining("HF_HUB_OFFLINE=1");
    }

    @Test
    void notEnoughDiskSpaceIsRefusedBeforeDownloading() {
        try (HubClient client = new HubClient(settings(null), Digests.PLAIN, d -> 1000)) {
            assertThatThrownBy(() -> client.fetch(RepoRef.parse(REPO), RepoLayouts.model(), DownloadProgress.NONE))
                    .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.DISK_FULL))
                    .hasMessageContaining("not enough disk space").hasMessageContaining("HF_HUB_CACHE");
        }
        assertThat(hub.requests()).noneMatch(r -> r.server().equals("cdn"));
    }

    @Test
    void progressCountsEveryByte() throws Exception {
        long[] total = {-2};
        long[] last = {0};
        try (HubClient client = new HubClient(settings(null))) {
            client.fetch(RepoRef.parse(REPO), RepoLayouts.model(), new DownloadProgress() {
                @Override public void start(String task, long totalBytes) { total[0] = totalBytes; }
                @Override public void advance(long bytesDone) { last[0] = bytesDone; }
            });
        }
        long expected = diffusers.values().stream().mapToLong(b -> b.length).sum();
        assertThat(total[0]).isEqualTo(expected);
        assertThat(last[0]).isEqualTo(expected);
    }

    static Map<String, byte[]> files(Path folder) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(folder)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(folder.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
        return out;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
