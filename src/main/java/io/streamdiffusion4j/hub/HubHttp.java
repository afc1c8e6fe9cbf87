package io.streamdiffusion4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamdiffusion4j.hub.HubException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Hub's HTTP API, as Python's {@code huggingface_hub} uses it: the file list of a revision
 * ({@code GET /api/models/{repo}/revision/{rev}}), a file's metadata ({@code HEAD
 * /{repo}/resolve/{commit}/{path}}: {@code X-Repo-Commit}, {@code X-Linked-Etag} or {@code ETag},
 * {@code X-Linked-Size} or {@code Content-Length}) and its bytes ({@code GET}, optionally with
 * {@code Range}). Redirects are followed here, not by the HTTP client, because the token
 * ({@code Authorization: Bearer}) may only go to the Hub's own origin: large files redirect to a
 * CDN on another host, which must never see it.
 */
final class HubHttp implements AutoCloseable {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration HEADERS_TIMEOUT = Duration.ofSeconds(60);
    private static final int MAX_REDIRECTS = 10;
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    /** A revision's commit and the paths of its files. */
    record Listing(String commit, Set<String> files) {}

    /**
     * What {@code HEAD} says about a file.
     *
     * @param size bytes, or -1 when the Hub did not say
     */
    record FileMetadata(String commit, String etag, long size, URI url) {}

    private final HubSettings settings;
    private final HttpClient client;
    private final String userAgent;

    HubHttp(HubSettings settings) {
        this.settings = settings;
        this.client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(CONNECT_TIMEOUT)
                .build();
        String v = HubHttp.class.getPackage().getImplementationVersion();
        this.userAgent = "streamdiffusion4j/" + (v == null ? "dev" : v) + "; java/" + Runtime.version().feature();
    }

    Listing listing(RepoRef ref) throws HubException {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + ref.repo() + "/revision/" + encode(ref.revision(), false));
        HttpResponse<byte[]> r = send("GET", uri, -1, HttpResponse.BodyHandlers.ofByteArray(), true, ref, null);
        if (r.statusCode() != 200) throw failure(r, ref, null);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(r.body());
        } catch (IOException e) {
            throw new HubException(Reason.PROTOCOL, uri + " did not answer JSON (is HF_ENDPOINT a Hugging Face Hub?): "
                    + e.getMessage(), e);
        }
        String commit = root == null ? null : root.path("sha").asText(null);
        JsonNode siblings = root == null ? null : root.get("siblings");
        if (commit == null || !COMMIT.matcher(commit).matches() || siblings == null || !siblings.isArray()) {
            throw new HubException(Reason.PROTOCOL, uri + " answered without a commit hash ('sha') and a file list"
                    + " ('siblings')");
        }
        Set<String> files = new LinkedHashSet<>();
        for (JsonNode s : siblings) {
            String f = s.path("rfilename").asText("");
            if (!validPath(f)) throw new HubException(Reason.PROTOCOL, uri + " lists an unusable file path '" + f + "'");
            files.add(f);
        }
        return new Listing(commit, files);
    }

    FileMetadata head(RepoRef ref, String commit, String path) throws HubException {
        URI uri = resolveUrl(ref, commit, path);
        HttpResponse<Void> r = send("HEAD", uri, -1, HttpResponse.BodyHandlers.discarding(), false, ref, path);
        int s = r.statusCode();
        if (s != 200 && !isRedirect(s)) throw failure(r, ref, path);
        String etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag")).orElse(null);
        if (etag == null || etag.isBlank()) {
            throw new HubException(Reason.PROTOCOL, "the Hub sent no ETag for " + ref.repo() + "/" + path
                    + " (is HF_ENDPOINT " + settings.endpoint() + " a Hugging Face Hub?)");
        }
        etag = normalizeEtag(etag);
        try {
            HubCache.checkEtag(etag);
        } catch (IllegalArgumentException e) {
            throw new HubException(Reason.PROTOCOL, "the Hub sent an unusable ETag for " + ref.repo() + "/" + path + ": " + etag);
        }
        long size = r.headers().firstValue("X-Linked-Size")
                .or(() -> isRedirect(s) ? java.util.Optional.empty() : r.headers().firstValue("Content-Length"))
                .map(HubHttp::parseLong).orElse(-1L);
        String repoCommit = r.headers().firstValue("X-Repo-Commit").orElse(commit);
        return new FileMetadata(repoCommit, etag, size, uri);
    }

    /**
     * Starts a download of {@code url} from byte {@code offset} (a {@code Range} request when
     * above 0), following redirects. The caller reads and closes the body; statuses other than
     * 200, 206 and 416 are turned into errors here.
     */
    HttpResponse<InputStream> get(URI url, long offset, RepoRef ref, String path) throws HubException {
        HttpResponse<InputStream> r = send("GET", url, offset, HttpResponse.BodyHandlers.ofInputStream(), true, ref, path);
        int s = r.statusCode();
        if (s == 200 || s == 206 || s == 416) return r;
        closeQuietly(r.body());
        throw failure(r, ref, path);
    }

    URI resolveUrl(RepoRef ref, String revision, String path) {
        return URI.create(settings.endpoint() + "/" + ref.repo() + "/resolve/" + encode(revision, false) + "/" + encode(path, true));
    }

    private <T> HttpResponse<T> send(String method, URI start, long offset, HttpResponse.BodyHandler<T> handler,
                                     boolean followOtherHosts, RepoRef ref, String path) throws HubException {
        URI uri = start;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                    .method(method, HttpRequest.BodyPublishers.noBody())
                    .timeout(HEADERS_TIMEOUT)
                    .header("User-Agent", userAgent)
                    .header("Accept-Encoding", "identity");
            if (offset > 0) b.header("Range", "bytes=" + offset + "-");
            // The token goes to the Hub only, never to the CDN or any other host a redirect names.
            if (settings.token() != null && sameOrigin(uri, settings.endpoint())) {
                b.header("Authorization", "Bearer " + settings.token());
            }
            HttpResponse<T> r;
            try {
                r = client.send(b.build(), handler);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HubException(Reason.INTERRUPTED, "interrupted while talking to " + uri.getHost(), e);
            } catch (IOException e) {
                throw unreachable(uri, e);
            }
            String location = r.headers().firstValue("Location").orElse(null);
            if (!isRedirect(r.statusCode()) || location == null) return r;
            URI next = uri.resolve(location);
            if (!followOtherHosts && !sameOrigin(next, settings.endpoint())) return r;
            if (r.body() instanceof InputStream in) closeQuietly(in);
            uri = next;
        }
        throw new HubException(Reason.PROTOCOL, "more than " + MAX_REDIRECTS + " redirects from " + start);
    }

    private HubException unreachable(URI uri, IOException e) {
        String host = uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "");
        String cause = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        boolean hub = sameOrigin(uri, settings.endpoint());
        String kind = e instanceof HttpConnectTimeoutException ? "timed out connecting to "
                : e instanceof HttpTimeoutException ? "no answer within " + HEADERS_TIMEOUT.toSeconds() + " s from "
                : e instanceof ConnectException ? "cannot connect to " : "network error talking to ";
        return new HubException(Reason.NETWORK, kind + (hub ? "the Hugging Face Hub at " + settings.endpoint()
                + " (HF_ENDPOINT)" : host) + ": " + cause + ". Check the network (and proxy settings), or set"
                + " HF_HUB_OFFLINE=1 to use only what is already in " + settings.cacheDir(), e);
    }

    /** Turns an error status into a message that says what to do. */
    private HubException failure(HttpResponse<?> r, RepoRef ref, String path) {
        int s = r.statusCode();
        String code = r.headers().firstValue("X-Error-Code").orElse("");
        String hubMessage = r.headers().firstValue("X-Error-Message").map(m -> " (Hub: " + m + ")").orElse("");
        boolean token = settings.token() != null;
        String what = path == null ? ref.repo() : ref.repo() + "/" + path;
        if (code.equals("GatedRepo") || (s == 403 && !token)) {
            return new HubException(Reason.UNAUTHORIZED, ref.repo() + " is a gated model: accept its conditions at "
                    + settings.endpoint() + "/" + ref.repo() + " while logged in, then set HF_TOKEN to an access token of"
                    + " that account" + (token ? " (the token in HF_TOKEN was sent and has no access)" : " (no token was sent)")
                    + hubMessage);
        }
        if (code.equals("RepoNotFound") || (s == 404 && path == null && !code.equals("RevisionNotFound"))) {
            return new HubException(Reason.NOT_FOUND, "the Hugging Face Hub (" + settings.endpoint() + ") has no model"
                    + " repository '" + ref.repo() + "'" + (token ? " that the token in HF_TOKEN can read"
                    : " (if it is private, set HF_TOKEN to a token that can read it)") + hubMessage);
        }
        if (code.equals("RevisionNotFound")) {
            return new HubException(Reason.NOT_FOUND, ref.repo() + " has no revision '" + ref.revision() + "'" + hubMessage);
        }
        if (code.equals("EntryNotFound") || s == 404) {
            return new HubException(Reason.NOT_FOUND, ref.repo() + "@" + ref.revision() + " has no file '" + path + "'"
                    + hubMessage);
        }
        if (s == 401) {
            return new HubException(Reason.UNAUTHORIZED, token
                    ? "the Hub refused the token in HF_TOKEN for " + what + " (401): it may be expired or lack read access"
                    + hubMessage
                    : what + " needs authentication: set HF_TOKEN to an access token that can read it (401)" + hubMessage);
        }
        if (s == 403) {
            return new HubException(Reason.UNAUTHORIZED, "the Hub refused access to " + what + " with the token in"
                    + " HF_TOKEN (403)" + hubMessage);
        }
        if (s == 429 || s >= 500) {
            return new HubException(Reason.NETWORK, "the Hub answered " + s + " for " + what
                    + (s == 429 ? " (too many requests)" : "") + "; try again later" + hubMessage);
        }
        return new HubException(Reason.PROTOCOL, "unexpected answer " + s + " from " + r.uri() + " for " + what + hubMessage);
    }

    static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        if (u.getPort() >= 0) return u.getPort();
        return "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    /** Python's {@code _normalize_etag}: drops a weak-validator {@code W/} prefix and the quotes. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) e = e.substring(2);
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) e = e.substring(1, e.length() - 1);
        return e;
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean validPath(String f) {
        if (f.isEmpty() || f.startsWith("/") || f.contains("\\")) return false;
        for (String seg : f.split("/", -1)) if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) return false;
        return true;
    }

    /** Percent-encodes everything but unreserved characters (and '/' when {@code keepSlash}), like Python's {@code quote}. */
    static String encode(String s, boolean keepSlash) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~' || (keepSlash && c == '/')) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format(Locale.ROOT, "%02X", b & 0xff));
            }
        }
        return sb.toString();
    }

    static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // the response is abandoned either way
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
