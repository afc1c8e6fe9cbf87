package io.streamdiffusion4j.web;

import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/** The original demo's users by the id their page chose, linking each WebSocket to its MJPEG stream. */
final class CompatUsers {
    private static final Pattern UUID_TEXT =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private final Map<UUID, CompatSocket> users = new ConcurrentHashMap<>();

    /** The user id in a path's last segment, or empty when it is not a UUID (as the original's FastAPI route requires). */
    static Optional<UUID> parseId(String segment) {
        if (segment == null || !UUID_TEXT.matcher(segment).matches()) return Optional.empty();
        return Optional.of(UUID.fromString(segment));
    }

    /** False when the id is already connected. */
    boolean add(UUID id, CompatSocket socket) {
        return users.putIfAbsent(id, socket) == null;
    }

    void remove(UUID id, CompatSocket socket) {
        users.remove(id, socket);
    }

    Optional<CompatSocket> get(UUID id) {
        return Optional.ofNullable(users.get(id));
    }
}
