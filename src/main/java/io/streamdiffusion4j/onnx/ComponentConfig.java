package io.streamdiffusion4j.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A component's {@code config.json} (diffusers/transformers), read leniently: it may be absent. */
record ComponentConfig(Path file, JsonNode root) {

    static ComponentConfig read(Path folder) throws InvalidModelException {
        Path file = folder.resolve("config.json");
        if (!Files.exists(file)) return new ComponentConfig(file, null);
        try {
            return new ComponentConfig(file, InputFiles.jsonObject(file, "component configuration"));
        } catch (IOException e) {
            throw new InvalidModelException(e.getMessage(), e);
        }
    }

    boolean present() {
        return root != null;
    }

    /** An integer value, or -1 when the file or the key is absent. */
    int intValue(String key) throws InvalidModelException {
        if (root == null || !root.hasNonNull(key)) return -1;
        JsonNode v = root.get(key);
        if (!v.isIntegralNumber()) throw new InvalidModelException(file + ": '" + key + "' should be an integer, found " + v);
        return v.intValue();
    }

    double doubleValue(String key, double fallback) throws InvalidModelException {
        if (root == null || !root.hasNonNull(key)) return fallback;
        JsonNode v = root.get(key);
        if (!v.isNumber()) throw new InvalidModelException(file + ": '" + key + "' should be a number, found " + v);
        return v.doubleValue();
    }

    String text(String key) {
        return root == null || !root.hasNonNull(key) ? null : root.get(key).asText();
    }
}
