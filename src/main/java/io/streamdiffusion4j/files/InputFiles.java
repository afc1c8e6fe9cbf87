package io.streamdiffusion4j.files;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads the small text files a user gives (run configurations, model and scheduler configs,
 * tokenizer vocabularies and merges, recorded draws) with errors that name the file and the
 * problem: not found, a folder, larger than any such file, not UTF-8 text, not valid JSON (with
 * line and column). The JDK's own messages ("Is a directory", "Input length = 1") name neither.
 */
public final class InputFiles {
    /** Larger than any configuration or tokenizer file (CLIP's vocab.json is about 1 MB). */
    public static final long MAX_TEXT_BYTES = 64L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private InputFiles() {}

    /**
     * The file's text, strictly UTF-8.
     *
     * @param what what the file is, for the "not found" message ("config file", "tokenizer vocabulary")
     */
    public static String text(Path file, String what) throws IOException {
        requireReadableFile(file, what);
        long size = Files.size(file);
        if (size > MAX_TEXT_BYTES) {
            throw new InputFileException(file + ": " + size + " bytes, more than a " + what + " can be ("
                    + MAX_TEXT_BYTES + " bytes at most)");
        }
        byte[] bytes = readAll(file);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new InputFileException(file + ": expected a text file (" + what + "), found bytes that are not UTF-8"
                    + " at offset " + firstInvalidByte(bytes), e);
        }
    }

    /** The file parsed as JSON; anything but a JSON object is an error. */
    public static JsonNode jsonObject(Path file, String what) throws IOException {
        String text = text(file, what);
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InputFileException(file + ": not valid JSON" + where(e.getLocation()) + ": " + jsonProblem(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new InputFileException(file + ": expected a JSON object, found " + (root == null ? "nothing" : kind(root)));
        }
        return root;
    }

    /** A clear error when {@code file} is missing, a folder, or not readable. */
    public static void requireReadableFile(Path file, String what) throws InputFileException {
        if (Files.isDirectory(file)) throw new InputFileException(file + " is a folder; expected a file (" + what + ")");
        if (!Files.exists(file)) throw new InputFileException(what + " not found: " + file);
        if (!Files.isRegularFile(file)) throw new InputFileException(file + " is not a regular file; expected a file (" + what + ")");
        if (!Files.isReadable(file)) throw new InputFileException(file + ": permission denied (" + what + ")");
    }

    private static byte[] readAll(Path file) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InputFileException("not found: " + file, e);
        } catch (AccessDeniedException e) {
            throw new InputFileException(file + ": permission denied", e);
        }
    }

    /**
     * The parser's description of a JSON error without its own location notes, which name no
     * file ("[Source: REDACTED ...; line: 1, column: 7]"): those become "line 1, column 7".
     */
    public static String jsonProblem(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        return m == null ? e.getClass().getSimpleName()
                : SOURCE_LOCATION.matcher(m).replaceAll("line $1, column $2");
    }

    private static final java.util.regex.Pattern SOURCE_LOCATION =
            java.util.regex.Pattern.compile("\\[Source: [^\\]]*?; line: (\\d+), column: (\\d+)\\]");

    private static long firstInvalidByte(byte[] bytes) {
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length + 1);
        var result = decoder.decode(in, out, true);
        return result.isError() ? in.position() : -1;
    }

    private static String where(JsonLocation at) {
        if (at == null || at.getLineNr() < 1) return "";
        return " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    }

    private static String kind(JsonNode n) {
        if (n.isArray()) return "a list";
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "a boolean";
        if (n.isNull()) return "null";
        return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
}
