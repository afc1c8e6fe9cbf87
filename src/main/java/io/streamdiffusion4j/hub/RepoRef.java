package io.streamdiffusion4j.hub;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A model repository on the Hub, at a revision, optionally one file in it, as a user writes it:
 * {@code org/name}, {@code org/name@revision}, {@code org/name/path/in/repo.safetensors} or
 * {@code org/name/path/in/repo.safetensors@revision}. The revision is a branch, a tag or a commit
 * hash; {@code main} when absent.
 *
 * @param file a path inside the repository, or null for the repository as a whole
 */
public record RepoRef(String repo, String revision, String file) {
    public static final String DEFAULT_REVISION = "main";

    /** The rules of Python's {@code validate_repo_id}: letters, digits, '-', '_', '.', not at the ends. */
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_.\\-]{1,96}");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public RepoRef {
        Objects.requireNonNull(repo, "repo");
        Objects.requireNonNull(revision, "revision");
        String problem = problem(repo, revision, file);
        if (problem != null) throw new IllegalArgumentException(problem);
    }

    public RepoRef(String repo) {
        this(repo, DEFAULT_REVISION, null);
    }

    /**
     * Parses a reference, or throws {@link IllegalArgumentException} naming what is wrong with it.
     * Use {@link #looksLikeHubId} first when the text may as well be a local path.
     */
    public static RepoRef parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty Hub repository id (expected org/name)");
        String s = text.strip();
        String revision = DEFAULT_REVISION;
        int at = s.indexOf('@');
        if (at >= 0) {
            revision = s.substring(at + 1);
            s = s.substring(0, at);
            if (revision.isEmpty()) throw new IllegalArgumentException("'" + text + "' ends with '@' but names no revision");
        }
        String[] parts = s.split("/", 3);
        if (parts.length < 2) {
            throw new IllegalArgumentException("'" + text + "' is not a Hub repository id (expected org/name[@revision])");
        }
        String file = parts.length == 3 ? parts[2] : null;
        String problem = problem(parts[0] + "/" + parts[1], revision, file);
        if (problem != null) throw new IllegalArgumentException("'" + text + "': " + problem);
        return new RepoRef(parts[0] + "/" + parts[1], revision, file);
    }

    /** True when {@code text} has the form of a Hub reference (it may still not exist there). */
    public static boolean looksLikeHubId(String text) {
        if (text == null || text.isBlank()) return false;
        String s = text.strip();
        if (s.startsWith("/") || s.startsWith(".") || s.startsWith("~") || s.contains("\\") || s.contains(":")) return false;
        try {
            parse(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String problem(String repo, String revision, String file) {
        String[] parts = repo.split("/", -1);
        if (parts.length != 2) return "a Hub repository id is org/name, found '" + repo + "'";
        for (String p : parts) {
            if (!PART.matcher(p).matches() || p.startsWith("-") || p.startsWith(".") || p.endsWith("-") || p.endsWith(".")
                    || p.contains("--") || p.contains("..")) {
                return "'" + p + "' is not a valid part of a Hub repository id (letters, digits, '-', '_', '.'; not at"
                        + " the ends; no '--' or '..')";
            }
        }
        if (revision.isBlank() || revision.contains("..") || revision.startsWith("/") || revision.endsWith("/")
                || revision.contains("\\")) {
            return "'" + revision + "' is not a valid revision";
        }
        if (file != null) {
            if (file.isEmpty() || file.startsWith("/") || file.endsWith("/") || file.contains("\\")) {
                return "'" + file + "' is not a file path inside a repository";
            }
            for (String seg : file.split("/", -1)) {
                if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) return "'" + file + "' is not a file path inside a repository";
            }
        }
        return null;
    }

    /** True when the revision is a full commit hash (nothing to look up). */
    public boolean pinned() {
        return COMMIT.matcher(revision).matches();
    }

    /** The repository itself, without a file. */
    public RepoRef repository() {
        return file == null ? this : new RepoRef(repo, revision, null);
    }

    /** The same repository and revision, one file in it. */
    public RepoRef withFile(String path) {
        return new RepoRef(repo, revision, path);
    }

    /** The folder Python's cache keeps this repository in: {@code models--org--name}. */
    public String cacheFolderName() {
        return "models--" + repo.replace("/", "--");
    }

    @Override
    public String toString() {
        return repo + (file == null ? "" : "/" + file) + (revision.equals(DEFAULT_REVISION) ? "" : "@" + revision);
    }
}
