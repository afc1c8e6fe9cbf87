package io.streamdiffusion4j.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * One folder of a cache (a converted model, an optimised graph), made so that no reader ever
 * sees it half-written and a damaged one is found and replaced: it is built in a staging folder
 * next to its place, sealed with a {@link FolderManifest}, and moved into place in one rename;
 * before each use it is checked against the manifest ({@link #damage}).
 */
public final class CacheEntry {
    private CacheEntry() {}

    /** A new, empty staging folder beside {@code target} (same file system, so the final move is one rename). */
    public static Path stage(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        return Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".partial-");
    }

    /**
     * Seals {@code staging} and moves it to {@code target}. When another process finished the same
     * entry first, its intact copy is kept and {@code staging} deleted; a damaged copy in the way is
     * replaced.
     */
    public static void commit(Path staging, Path target) throws IOException {
        try {
            FolderManifest.write(staging);
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                return;
            } catch (IOException inTheWay) {
                if (!Files.exists(target)) throw inTheWay;
            }
            if (damage(target) == null) {
                deleteTree(staging);
                return;
            }
            discard(target);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(staging);
            throw e;
        }
    }

    /** What is wrong with the entry at {@code target}, or null when it is complete and intact. */
    public static String damage(Path target) {
        if (!Files.isDirectory(target)) return target + " is not a folder";
        return FolderManifest.damage(target);
    }

    /**
     * Removes a damaged entry: first renamed out of the way in one step (a concurrent reader sees
     * either the old entry or none, never a half-deleted one), then deleted.
     */
    public static void discard(Path target) throws IOException {
        if (!Files.exists(target)) return;
        Path abs = target.toAbsolutePath();
        Path aside = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".damaged-");
        Files.delete(aside);
        try {
            Files.move(abs, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (!Files.exists(abs)) return; // another process removed it first
            throw new IOException("cannot remove the damaged cache entry " + target + ": " + e.getMessage(), e);
        }
        deleteQuietly(aside);
    }

    /** Deletes a folder tree, best effort (a leftover staging folder has no manifest, so it is never used). */
    public static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException ignored) {
            // see above: harmless
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
