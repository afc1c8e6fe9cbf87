package io.streamdiffusion4j.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where the Hugging Face Hub is and how to use it, read the way Python's {@code huggingface_hub}
 * reads it, so both share one cache and one login:
 * <ul>
 *   <li>{@code endpoint}: {@code $HF_ENDPOINT}, else {@code https://huggingface.co};</li>
 *   <li>{@code token}: {@code $HF_TOKEN}, else the file {@code huggingface-cli login} writes
 *       ({@code $HF_TOKEN_PATH}, else {@code $HF_HOME/token}); none when neither is set;</li>
 *   <li>{@code cacheDir}: {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, where {@code HF_HOME}
 *       defaults to {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface};</li>
 *   <li>{@code offline}: {@code $HF_HUB_OFFLINE} is 1, true, yes or on;</li>
 *   <li>{@code downloadTimeout}: {@code $HF_HUB_DOWNLOAD_TIMEOUT} seconds without data before a
 *       transfer counts as stalled (Python's read timeout; 10 s by default).</li>
 * </ul>
 * Every variable may also be given as a Java system property of the same name, which wins over
 * the environment (environment variables cannot be set inside a running JVM; tests and
 * embedding applications use the properties, or build the record directly).
 *
 * @param token null when no token is configured
 */
public record HubSettings(URI endpoint, String token, Path cacheDir, boolean offline, Duration downloadTimeout) {
    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");
    public static final Duration DEFAULT_DOWNLOAD_TIMEOUT = Duration.ofSeconds(10);

    /** Python's {@code ENV_VARS_TRUE_VALUES}. */
    private static final Set<String> TRUE = Set.of("1", "on", "yes", "true");
    private static final String[] NAMES = {"HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH",
            "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_HUB_OFFLINE",
            "HF_HUB_DOWNLOAD_TIMEOUT"};

    public HubSettings {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(cacheDir, "cacheDir");
        Objects.requireNonNull(downloadTimeout, "downloadTimeout");
        if (downloadTimeout.isNegative() || downloadTimeout.isZero()) {
            throw new IllegalArgumentException("HF_HUB_DOWNLOAD_TIMEOUT must be positive, found " + downloadTimeout);
        }
        String scheme = endpoint.getScheme();
        if (!"https".equalsIgnoreCase(scheme) && !"http".equalsIgnoreCase(scheme) || endpoint.getHost() == null) {
            throw new IllegalArgumentException("HF_ENDPOINT must be an http(s) URL such as https://huggingface.co, found '"
                    + endpoint + "'");
        }
        String s = endpoint.toString();
        if (s.endsWith("/")) endpoint = URI.create(s.replaceAll("/+$", ""));
        if (token != null && token.isBlank()) token = null;
        if (token != null) token = token.strip();
    }

    public HubSettings(URI endpoint, String token, Path cacheDir, boolean offline) {
        this(endpoint, token, cacheDir, offline, DEFAULT_DOWNLOAD_TIMEOUT);
    }

    /** Settings from the environment, overridden by system properties of the same names. */
    public static HubSettings fromEnvironment() throws IOException {
        Map<String, String> vars = new HashMap<>();
        for (String n : NAMES) {
            String v = System.getProperty(n, System.getenv(n));
            if (v != null) vars.put(n, v);
        }
        return from(vars, Path.of(System.getProperty("user.home")));
    }

    /** Settings from the given variables (names as in the environment) and home folder. */
    public static HubSettings from(Map<String, String> vars, Path home) throws IOException {
        String endpointText = nonBlank(vars.get("HF_ENDPOINT"));
        URI endpoint;
        try {
            endpoint = endpointText == null ? DEFAULT_ENDPOINT : URI.create(endpointText.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("HF_ENDPOINT is not a URL: '" + endpointText + "'", e);
        }
        String xdg = nonBlank(vars.get("XDG_CACHE_HOME"));
        String hfHomeText = nonBlank(vars.get("HF_HOME"));
        Path hfHome = hfHomeText != null ? Path.of(hfHomeText)
                : (xdg != null ? Path.of(xdg) : home.resolve(".cache")).resolve("huggingface");
        String cacheText = nonBlank(vars.get("HF_HUB_CACHE"));
        if (cacheText == null) cacheText = nonBlank(vars.get("HUGGINGFACE_HUB_CACHE"));
        Path cache = cacheText != null ? Path.of(cacheText) : hfHome.resolve("hub");

        String token = nonBlank(vars.get("HF_TOKEN"));
        if (token == null) token = nonBlank(vars.get("HUGGING_FACE_HUB_TOKEN"));
        if (token == null) {
            String pathText = nonBlank(vars.get("HF_TOKEN_PATH"));
            Path tokenFile = pathText != null ? Path.of(pathText) : hfHome.resolve("token");
            if (Files.isRegularFile(tokenFile)) {
                token = nonBlank(Files.readString(tokenFile, StandardCharsets.UTF_8));
            }
        }
        String offlineText = nonBlank(vars.get("HF_HUB_OFFLINE"));
        boolean offline = offlineText != null && TRUE.contains(offlineText.strip().toLowerCase(Locale.ROOT));
        String timeoutText = nonBlank(vars.get("HF_HUB_DOWNLOAD_TIMEOUT"));
        Duration timeout = DEFAULT_DOWNLOAD_TIMEOUT;
        if (timeoutText != null) {
            try {
                timeout = Duration.ofMillis(Math.round(Double.parseDouble(timeoutText.strip()) * 1000));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("HF_HUB_DOWNLOAD_TIMEOUT must be a number of seconds, found '"
                        + timeoutText + "'", e);
            }
        }
        return new HubSettings(endpoint, token, cache, offline, timeout);
    }

    public HubSettings withOffline(boolean value) {
        return new HubSettings(endpoint, token, cacheDir, value, downloadTimeout);
    }

    public HubSettings withDownloadTimeout(Duration value) {
        return new HubSettings(endpoint, token, cacheDir, offline, value);
    }

    public HubSettings withToken(String value) {
        return new HubSettings(endpoint, value, cacheDir, offline, downloadTimeout);
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    /** Never prints the token itself. */
    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", token=" + (token == null ? "none" : "set") + ", cacheDir=" + cacheDir
                + ", offline=" + offline + ", downloadTimeout=" + downloadTimeout + "]";
    }
}
