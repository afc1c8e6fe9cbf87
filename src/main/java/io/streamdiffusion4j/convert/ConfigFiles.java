package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import java.io.IOException;
import java.nio.file.Path;

/** Reading diffusers / transformers config.json files with errors that name the file and key. */
public final class ConfigFiles {
    private ConfigFiles() {}

    public static JsonNode read(Path file) throws IOException {
        return InputFiles.jsonObject(file, "config");
    }

    public static int integer(JsonNode n, String key, int dflt, Path file) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber()) throw new InputFileException(file + ": '" + key + "' should be an integer, found " + v);
        return v.intValue();
    }

    public static int requiredInt(JsonNode n, String key, Path file) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || !v.isIntegralNumber()) throw new InputFileException(file + ": '" + key + "' should be an integer, found " + v);
        return v.intValue();
    }

    public static double number(JsonNode n, String key, double dflt, Path file) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw new InputFileException(file + ": '" + key + "' should be a number, found " + v);
        return v.doubleValue();
    }

    public static boolean bool(JsonNode n, String key, boolean dflt, Path file) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw new InputFileException(file + ": '" + key + "' should be true or false, found " + v);
        return v.booleanValue();
    }

    public static String text(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    public static int[] ints(JsonNode n, String key, int[] dflt, Path file) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isArray()) throw new InputFileException(file + ": '" + key + "' should be a list of integers, found " + v);
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isIntegralNumber()) throw new InputFileException(file + ": '" + key + "' should hold integers, found " + v);
            out[i] = v.get(i).intValue();
        }
        return out;
    }

    public static String[] strings(JsonNode n, String key, String[] dflt, Path file) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isArray()) throw new InputFileException(file + ": '" + key + "' should be a list of strings, found " + v);
        String[] out = new String[v.size()];
        for (int i = 0; i < out.length; i++) out[i] = v.get(i).asText();
        return out;
    }
}
