package io.streamdiffusion4j.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * A Hugging Face Hub on 127.0.0.1 that speaks the parts of the HTTP API the client uses, with the
 * real Hub's headers: {@code GET /api/models/{repo}/revision/{rev}} (commit and file list),
 * {@code HEAD|GET /{repo}/resolve/{rev}/{path}} — small files answered directly with a git-blob
 * {@code ETag}, LFS files (weights, ONNX) with a 302 to a second server, the "CDN", and
 * {@code X-Linked-Etag} (SHA-256) / {@code X-Linked-Size} / {@code X-Repo-Commit} — plus
 * {@code Range} requests (206) on the CDN, gated repositories (file list public, files 401/403
 * with {@code X-Error-Code: GatedRepo}) and unknown ones (404 {@code RepoNotFound}). It records every
 * request, and can cut a transfer short or corrupt a file on demand.
 */
final class FakeHub implements AutoCloseable {
    /** One request as a server saw it. */
    record Request(String server, String method, String path, Map<String, String> headers) {
        String header(String name) {
            return headers.get(name.toLowerCase(java.util.Locale.ROOT));
        }
    }

    private record Repo(String id, String commit, Map<String, byte[]> files, String token) {}

    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> lfs = new ConcurrentHashMap<>();
    private final Map<String, Long> cuts = new ConcurrentHashMap<>();
    private final Map<String, Long> stalls = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());

    FakeHub() throws IOException {
        InetAddress local = InetAddress.getLoopbackAddress();
        hub = HttpServer.create(new InetSocketAddress(local, 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(local, 0), 0);
        hub.createContext("/", ex -> handle("hub", ex));
        cdn.createContext("/", ex -> handle("cdn", ex));
        hub.setExecutor(pool);
        cdn.setExecutor(pool);
        hub.start();
        cdn.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    /** Serves every file under {@code folder} (links followed) as repository {@code id}. */
    FakeHub addRepo(String id, Path folder) throws IOException {
        return addRepo(id, folder, null);
    }

    /** A gated repository: only {@code Authorization: Bearer token} may read it. */
    FakeHub addRepo(String id, Path folder, String token) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(folder, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                files.put(folder.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
        return addRepo(id, files, token);
    }

    FakeHub addRepo(String id, Map<String, byte[]> files, String token) {
        StringBuilder listing = new StringBuilder(id);
        for (var e : new TreeMap<>(files).entrySet()) {
            String etag = isLfs(e.getKey()) ? sha256(e.getValue()) : gitBlobSha1(e.getValue());
            listing.append('\n').append(e.getKey()).append(' ').append(etag);
            if (isLfs(e.getKey())) lfs.put(sha256(e.getValue()), e.getValue());
        }
        String commit = sha1(listing.toString().getBytes(StandardCharsets.UTF_8));
        repos.put(id, new Repo(id, commit, new LinkedHashMap<>(files), token));
        return this;
    }

    String commit(String id) {
        return repos.get(id).commit();
    }

    byte[] content(String id, String path) {
        return repos.get(id).files().get(path);
    }

    /** The next CDN transfer of this file sends only its first {@code bytes} bytes, then drops the connection. */
    void cutNextTransfer(String id, String path, long bytes) {
        cuts.put(sha256(content(id, path)), bytes);
    }

    /** The next CDN transfer of this file sends its first {@code bytes} bytes, then nothing for a minute. */
    void stallNextTransfer(String id, String path, long bytes) {
        stalls.put(sha256(content(id, path)), bytes);
    }

    /** From now on the CDN sends this file with one byte changed (its ETag stays the true SHA-256). */
    void corrupt(String id, String path) {
        corrupt.put(sha256(content(id, path)), true);
    }

    void repair(String id, String path) {
        corrupt.remove(sha256(content(id, path)));
    }

    List<Request> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    void clearRequests() {
        requests.clear();
    }

    static boolean isLfs(String path) {
        return path.endsWith(".safetensors") || path.endsWith(".onnx") || path.endsWith(".onnx_data") || path.endsWith(".bin");
    }

    // ------------------------------------------------------------------------------------------

    private void handle(String server, HttpExchange ex) throws IOException {
        Map<String, String> headers = new TreeMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), String.join(",", v)));
        String path = ex.getRequestURI().getRawPath();
        requests.add(new Request(server, ex.getRequestMethod(), path, headers));
        try (ex) {
            if (server.equals("cdn")) cdn(ex, path);
            else hub(ex, path, headers.get("authorization"));
        } catch (IOException | RuntimeException e) {
            // a cut transfer ends here on purpose; anything else would show up as a client error
        }
    }

    private void hub(HttpExchange ex, String raw, String auth) throws IOException {
        String[] api = match(raw, "/api/models/");
        if (api != null) {
            // /api/models/{org}/{name}/revision/{rev}
            String[] parts = api[0].split("/", 4);
            if (parts.length < 4 || !parts[2].equals("revision")) {
                error(ex, 404, null, "Not Found");
                return;
            }
            // as on the real Hub, a gated repository's file list is public; its files are not
            Repo repo = access(ex, parts[0] + "/" + parts[1], auth, false);
            if (repo == null) return;
            String rev = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
            if (!rev.equals("main") && !rev.equals(repo.commit())) {
                error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
                return;
            }
            ObjectMapper json = new ObjectMapper();
            ObjectNode root = json.createObjectNode();
            root.put("id", repo.id());
            root.put("sha", repo.commit());
            var siblings = root.putArray("siblings");
            for (String f : repo.files().keySet()) siblings.addObject().put("rfilename", f);
            send(ex, 200, json.writeValueAsBytes(root), "application/json");
            return;
        }
        // /{org}/{name}/resolve/{rev}/{path}
        String[] parts = raw.substring(1).split("/", 5);
        if (parts.length < 5 || !parts[2].equals("resolve")) {
            error(ex, 404, null, "Not Found");
            return;
        }
        Repo repo = access(ex, parts[0] + "/" + parts[1], auth, true);
        if (repo == null) return;
        String rev = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
        if (!rev.equals("main") && !rev.equals(repo.commit())) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
            return;
        }
        String file = URLDecoder.decode(parts[4], StandardCharsets.UTF_8);
        byte[] data = repo.files().get(file);
        if (data == null) {
            error(ex, 404, "EntryNotFound", file + " does not exist");
            return;
        }
        Headers h = ex.getResponseHeaders();
        h.set("X-Repo-Commit", repo.commit());
        if (isLfs(file)) {
            String sha = sha256(data);
            h.set("X-Linked-Etag", "\"" + sha + "\"");
            h.set("X-Linked-Size", Long.toString(data.length));
            h.set("ETag", "\"" + gitBlobSha1(("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha).getBytes(
                    StandardCharsets.UTF_8)) + "\"");
            h.set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/lfs/" + sha + "?response-content-disposition=x");
            ex.sendResponseHeaders(302, -1);
            return;
        }
        h.set("ETag", "\"" + gitBlobSha1(data) + "\"");
        if (ex.getRequestMethod().equals("HEAD")) {
            h.set("Content-Length", Long.toString(data.length));
            ex.sendResponseHeaders(200, -1);
            return;
        }
        send(ex, 200, data, "application/octet-stream");
    }

    /** The repository, or null after answering as the Hub does for unknown and gated ones. */
    private Repo access(HttpExchange ex, String id, String auth, boolean gate) throws IOException {
        Repo repo = repos.get(id);
        if (repo == null) {
            error(ex, 404, "RepoNotFound", "Repository not found");
            return null;
        }
        if (gate && repo.token() != null && !("Bearer " + repo.token()).equals(auth)) {
            error(ex, auth == null ? 401 : 403, "GatedRepo", "Access to model " + id + " is restricted.");
            return null;
        }
        return repo;
    }

    private void cdn(HttpExchange ex, String raw) throws IOException {
        String[] m = match(raw, "/lfs/");
        byte[] data = m == null ? null : lfs.get(m[0]);
        if (data == null) {
            send(ex, 404, "NoSuchKey".getBytes(StandardCharsets.UTF_8), "text/plain");
            return;
        }
        String sha = m[0];
        if (corrupt.containsKey(sha)) {
            data = data.clone();
            data[data.length / 2] ^= 0x55;
        }
        long start = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && range.matches("bytes=\\d+-")) {
            start = Long.parseLong(range.substring(6, range.length() - 1));
            if (start >= data.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + data.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
        }
        ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        long length = data.length - start;
        ex.sendResponseHeaders(range != null ? 206 : 200, length);
        Long cut = cuts.remove(sha);
        Long stall = stalls.remove(sha);
        OutputStream out = ex.getResponseBody();
        if (stall != null && stall > start) {
            out.write(data, (int) start, (int) (stall - start));
            out.flush();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("stalled transfer ends");
        }
        if (cut != null && cut > start) {
            out.write(data, (int) start, (int) (cut - start));
            out.flush();
            throw new IOException("transfer cut on purpose");   // the exchange closes with bytes missing
        }
        out.write(data, (int) start, (int) length);
    }

    private static String[] match(String raw, String prefix) {
        return raw.startsWith(prefix) ? new String[] {raw.substring(prefix.length())} : null;
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        if (code != null) ex.getResponseHeaders().set("X-Error-Code", code);
        ex.getResponseHeaders().set("X-Error-Message", message);
        send(ex, status, ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8), "application/json");
    }

    private static void send(HttpExchange ex, int status, byte[] body, String type) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        ex.getResponseBody().write(body);
    }

    static String sha256(byte[] data) {
        return digest("SHA-256", data);
    }

    static String sha1(byte[] data) {
        return digest("SHA-1", data);
    }

    /** The id git gives a file's content: SHA-1 of {@code "blob <size>\0"} and the bytes. */
    static String gitBlobSha1(byte[] data) {
        byte[] head = ("blob " + data.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + data.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(data, 0, all, head.length, data.length);
        return sha1(all);
    }

    private static String digest(String algorithm, byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
        pool.shutdownNow();
    }
}
