package io.streamdiffusion4j.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import io.streamdiffusion4j.files.AtomicFiles;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The cache layout of Python's {@code huggingface_hub}, so files downloaded by diffusers are found
 * here and files downloaded here are used by Python:
 * <pre>
 * {cacheDir}/models--org--name/
 *     blobs/{etag}                      file contents, named by the Hub's ETag (sha256 for LFS files)
 *     blobs/{etag}.incomplete           a transfer in progress (resumed from its length)
 *     snapshots/{commit}/{path}         relative symbolic links to ../../blobs/{etag}
 *     refs/{revision}                   the commit hash a branch or tag pointed to
 * {cacheDir}/.locks/models--org--name/{etag}.lock
 * </pre>
 */
public final class HubCache {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    /** ETags are hex digests on the Hub; anything else must at least be a safe file name. */
    private static final Pattern ETAG = Pattern.compile("[A-Za-z0-9_\\-]{8,128}");

    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path repoDir(RepoRef ref) {
        return root.resolve(ref.cacheFolderName());
    }

    public Path blob(RepoRef ref, String etag) {
        return repoDir(ref).resolve("blobs").resolve(checkEtag(etag));
    }

    public Path incomplete(RepoRef ref, String etag) {
        return repoDir(ref).resolve("blobs").resolve(checkEtag(etag) + ".incomplete");
    }

    public Path lockFile(RepoRef ref, String etag) {
        return root.resolve(".locks").resolve(ref.cacheFolderName()).resolve(checkEtag(etag) + ".lock");
    }

    public Path snapshotDir(RepoRef ref, String commit) {
        return repoDir(ref).resolve("snapshots").resolve(checkCommit(commit));
    }

    /** The commit a revision stands for: the revision itself when it is a hash, else {@code refs/<revision>}; null when unknown. */
    public String commitFor(RepoRef ref) throws IOException {
        if (ref.pinned()) return ref.revision();
        Path file = repoDir(ref).resolve("refs").resolve(ref.revision());
        if (!Files.isRegularFile(file)) return null;
        String commit = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (!COMMIT.matcher(commit).matches()) {
            throw new IOException(file + ": expected a 40-character commit hash, found '" + commit + "'");
        }
        return commit;
    }

    /** Records that a branch or tag points to {@code commit} (not needed for a commit hash). */
    public void writeRef(RepoRef ref, String commit) throws IOException {
        checkCommit(commit);
        if (ref.pinned()) return;
        Path file = repoDir(ref).resolve("refs").resolve(ref.revision());
        Files.createDirectories(file.getParent());
        if (Files.isRegularFile(file) && Files.readString(file, StandardCharsets.UTF_8).strip().equals(commit)) return;
        AtomicFiles.write(file, commit.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The files of a snapshot whose contents are present: path inside the repository (with '/')
     * to the file holding the bytes (the blob a link points to). Dangling links are left out.
     */
    public Map<String, Path> snapshotFiles(RepoRef ref, String commit) throws IOException {
        Path dir = snapshotDir(ref, commit);
        Map<String, Path> files = new TreeMap<>();
        if (!Files.isDirectory(dir)) return files;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                if (!Files.isRegularFile(p)) continue;   // follows links: a dangling link is not a file
                files.put(dir.relativize(p).toString().replace('\\', '/'), p.toRealPath());
            }
        }
        return files;
    }

    /** The ETag a snapshot file stands for: its link's target name; null for a plain file (no symlinks on this system). */
    public static String etagOf(Path snapshotFile) throws IOException {
        if (!Files.isSymbolicLink(snapshotFile)) return null;
        return Files.readSymbolicLink(snapshotFile).getFileName().toString();
    }

    /**
     * Points {@code snapshots/<commit>/<path>} at {@code blobs/<etag>} with a relative link, as
     * Python does. Where the file system has no symbolic links the blob is copied instead (what
     * Python does too); the return value says so, for the caller to tell the user.
     *
     * @return false when the file had to be copied
     */
    public boolean link(RepoRef ref, String commit, String path, String etag) throws IOException {
        Path blob = blob(ref, etag);
        Path dir = snapshotDir(ref, commit);
        Path pointer = dir.resolve(path).normalize();
        if (!pointer.startsWith(dir)) throw new IOException("refusing a repository path outside the snapshot: " + path);
        Files.createDirectories(pointer.getParent());
        if (Files.exists(pointer, LinkOption.NOFOLLOW_LINKS)) Files.delete(pointer);
        try {
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
            return true;
        } catch (UnsupportedOperationException | FileSystemException e) {
            // no symlinks here (Windows without developer mode, some network file systems): a copy in
            // the snapshot, as huggingface_hub does in that case; the caller is told (returns false)
            Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
            return false;
        }
    }

    static String checkCommit(String commit) {
        if (commit == null || !COMMIT.matcher(commit).matches()) {
            throw new IllegalArgumentException("not a 40-character commit hash: '" + commit + "'");
        }
        return commit;
    }

    static String checkEtag(String etag) {
        if (etag == null || !ETAG.matcher(etag).matches()) {
            throw new IllegalArgumentException("not a usable ETag for a cache file name: '" + etag + "'");
        }
        return etag;
    }

    static boolean isSha256(String etag) {
        return etag.length() == 64 && etag.chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }
}
