package io.streamdiffusion4j.hub;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * Files of one repository commit in the local cache, ready to read.
 *
 * @param dir    {@code snapshots/<commit>} (read files through it: it keeps the repository's paths)
 * @param files  the selected paths and the content hash each stands for (the blob's ETag: SHA-256
 *               for LFS files, the git blob hash for small ones)
 */
public record Snapshot(RepoRef ref, String commit, Path dir, Map<String, String> files, FileSelector.Layout layout) {
    public Snapshot {
        files = Map.copyOf(files);
    }

    public Path file(String path) {
        return dir.resolve(path);
    }

    /**
     * A key for what the selected files contain, independent of where they lie: converted models
     * are cached under it, so the same weights are converted once whichever tool downloaded them.
     */
    public String contentKey() {
        MessageDigest md = Digests.newSha256();
        for (var e : new TreeMap<>(files).entrySet()) {
            md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(e.getValue().getBytes(StandardCharsets.UTF_8));
            md.update((byte) '\n');
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
