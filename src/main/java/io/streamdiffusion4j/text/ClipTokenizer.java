package io.streamdiffusion4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import io.streamdiffusion4j.model.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, giving the same ids as Hugging Face's {@code CLIPTokenizer}
 * (transformers 4.35, without ftfy) for the files of a {@code tokenizer/} folder.
 *
 * <p>Steps, as in the Python tokenizer:
 * <ol>
 *   <li>split off special tokens (start, end, unknown, padding and additional ones) wherever they
 *       occur; the SD 2.x padding token {@code !} is special, so every {@code !} becomes its own
 *       token;</li>
 *   <li>clean the rest like BERT's basic tokenizer: drop control characters, unify whitespace,
 *       space out CJK ideographs, NFC-normalise, lower-case;</li>
 *   <li>pre-tokenise with CLIP's pattern (contractions, letter runs, single digits, other runs);</li>
 *   <li>map UTF-8 bytes to printable characters, mark the word end with {@code </w>}, and apply the
 *       merges in rank order;</li>
 *   <li>add start and end tokens, truncate to 77, pad with the padding token.</li>
 * </ol>
 */
public final class ClipTokenizer implements Tokenizer {
    /** HF reads only this many merges of merges.txt (CLIP's 49152-token vocabulary minus bytes and specials). */
    private static final int MAX_MERGES = 49152 - 256 - 2;
    private static final Pattern PRE_TOKENIZE = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private final Map<String, Integer> vocab;
    private final Map<String, Integer> mergeRanks;
    private final char[] byteEncoder = bytesToUnicode();
    private final List<String> specialTokens;
    private final int bosId;
    private final int eosId;
    private final int unkId;
    private final int padId;
    private final int maxLength;
    private final Map<String, String[]> cache = new ConcurrentHashMap<>();

    ClipTokenizer(Map<String, Integer> vocab, List<String> merges, String bos, String eos, String unk, String pad,
                  List<String> additionalSpecial, int maxLength) {
        this.vocab = vocab;
        this.mergeRanks = new HashMap<>();
        for (int i = 0; i < merges.size() && i < MAX_MERGES; i++) mergeRanks.put(merges.get(i), i);
        Set<String> specials = new LinkedHashSet<>(List.of(bos, eos, unk, pad));
        specials.addAll(additionalSpecial);
        // longest first, so that one special token that contains another wins
        List<String> sorted = new ArrayList<>(specials);
        sorted.sort((a, b) -> Integer.compare(b.length(), a.length()));
        this.specialTokens = List.copyOf(sorted);
        this.bosId = id(bos, "bos_token");
        this.eosId = id(eos, "eos_token");
        this.unkId = id(unk, "unk_token");
        this.padId = id(pad, "pad_token");
        this.maxLength = maxLength;
    }

    private int id(String token, String role) {
        Integer id = vocab.get(token);
        if (id == null) throw new IllegalArgumentException("the " + role + " '" + token + "' is not in the vocabulary");
        return id;
    }

    /**
     * Reads {@code vocab.json}, {@code merges.txt} and the special tokens from
     * {@code tokenizer_config.json} / {@code special_tokens_map.json} of a tokenizer folder.
     */
    public static ClipTokenizer load(Path dir) throws IOException {
        Path vocabFile = dir.resolve("vocab.json");
        Path mergesFile = dir.resolve("merges.txt");
        Map<String, Integer> vocab = new HashMap<>();
        JsonNode v = InputFiles.jsonObject(vocabFile, "tokenizer vocabulary (token -> id)");
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isIntegralNumber()) {
                throw new InputFileException(vocabFile + ": the id of '" + e.getKey() + "' is not an integer: " + e.getValue());
            }
            vocab.put(e.getKey(), e.getValue().intValue());
        }
        List<String> lines = InputFiles.text(mergesFile, "tokenizer merges").lines().toList();
        List<String> merges = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i == 0 && line.startsWith("#version")) continue;
            if (line.isBlank()) continue;
            if (line.split(" ").length != 2) {
                throw new InputFileException(mergesFile + " line " + (i + 1) + ": expected two symbols, found '" + line + "'");
            }
            merges.add(line);
        }

        JsonNode config = readOptional(dir.resolve("tokenizer_config.json"));
        JsonNode map = readOptional(dir.resolve("special_tokens_map.json"));
        String bos = special(config, map, "bos_token", "<|startoftext|>");
        String eos = special(config, map, "eos_token", "<|endoftext|>");
        String unk = special(config, map, "unk_token", "<|endoftext|>");
        String pad = special(config, map, "pad_token", null);
        if (pad == null) {
            throw new InputFileException("no pad_token in " + dir.resolve("tokenizer_config.json") + " or "
                    + dir.resolve("special_tokens_map.json") + "; Stable Diffusion pads prompts to 77 tokens");
        }
        List<String> additional = new ArrayList<>();
        for (JsonNode source : new JsonNode[] {config, map}) {
            if (source != null && source.path("additional_special_tokens").isArray()) {
                for (JsonNode t : source.get("additional_special_tokens")) additional.add(tokenText(t));
            }
        }
        int maxLength = 77;
        if (config != null && config.path("model_max_length").isNumber()) {
            double m = config.get("model_max_length").asDouble();
            if (m >= 2 && m < 77) maxLength = (int) m;
        }
        try {
            return new ClipTokenizer(vocab, merges, bos, eos, unk, pad, additional, maxLength);
        } catch (IllegalArgumentException e) {
            throw new InputFileException(dir + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readOptional(Path file) throws IOException {
        if (!Files.exists(file)) return null;
        return InputFiles.jsonObject(file, "tokenizer configuration");
    }

    private static String special(JsonNode config, JsonNode map, String key, String fallback) {
        for (JsonNode source : new JsonNode[] {config, map}) {
            if (source != null && source.hasNonNull(key)) return tokenText(source.get(key));
        }
        return fallback;
    }

    /** A token given as a string or as an AddedToken object ({"content": ...}). */
    private static String tokenText(JsonNode n) {
        return n.isObject() ? n.path("content").asText() : n.asText();
    }

    @Override
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        for (String piece : splitOnSpecialTokens(text)) {
            if (specialTokens.contains(piece)) {
                ids.add(vocab.get(piece));
                continue;
            }
            String cleaned = basicClean(piece);
            Matcher m = PRE_TOKENIZE.matcher(cleaned);
            while (m.find()) {
                for (String bpe : bpe(byteLevel(m.group()))) {
                    ids.add(vocab.getOrDefault(bpe, unkId));
                }
            }
        }
        int[] out = new int[maxLength];
        Arrays.fill(out, padId);
        int keep = Math.min(ids.size(), maxLength - 2);
        out[0] = bosId;
        for (int i = 0; i < keep; i++) out[i + 1] = ids.get(i);
        out[keep + 1] = eosId;
        return out;
    }

    /** The text between special tokens and the special tokens themselves, in order. */
    List<String> splitOnSpecialTokens(String text) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        int i = 0;
        outer:
        while (i < text.length()) {
            for (String s : specialTokens) {
                if (text.startsWith(s, i)) {
                    if (i > start) parts.add(text.substring(start, i));
                    parts.add(s);
                    i += s.length();
                    start = i;
                    continue outer;
                }
            }
            i++;
        }
        if (start < text.length()) parts.add(text.substring(start));
        return parts;
    }

    /**
     * transformers' {@code BasicTokenizer(strip_accents=False, do_split_on_punc=False)} followed
     * by a join with single spaces: what {@code CLIPTokenizer} does without ftfy.
     */
    static String basicClean(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
            if (isBertWhitespace(cp)) {
                sb.append(' ');
            } else if (isCjk(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        });
        String normalized = Normalizer.normalize(sb, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(normalized.length());
        for (String token : pythonSplit(normalized)) {
            for (String t : pythonSplit(token.toLowerCase(java.util.Locale.ROOT))) {
                if (!out.isEmpty()) out.append(' ');
                out.append(t);
            }
        }
        return out.toString();
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    private static boolean isBertWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** Python's {@code str.split()}: runs of whitespace separate, no empty parts. */
    private static List<String> pythonSplit(String s) {
        List<String> parts = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < s.length(); i++) {
            boolean ws = isPythonSpace(s.charAt(i));
            if (ws && start >= 0) {
                parts.add(s.substring(start, i));
                start = -1;
            } else if (!ws && start < 0) {
                start = i;
            }
        }
        if (start >= 0) parts.add(s.substring(start));
        return parts;
    }

    private static boolean isPythonSpace(char c) {
        return (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }

    private String byteLevel(String token) {
        byte[] bytes = token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) chars[i] = byteEncoder[bytes[i] & 0xff];
        return new String(chars);
    }

    /** Byte-pair encoding of one pre-token: merge the lowest-ranked adjacent pair until none applies. */
    String[] bpe(String token) {
        String[] cached = cache.get(token);
        if (cached != null) return cached;
        List<String> word = new ArrayList<>(token.length());
        for (int i = 0; i < token.length() - 1; i++) word.add(String.valueOf(token.charAt(i)));
        word.add(token.charAt(token.length() - 1) + "</w>");
        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestFirst = null;
            String bestSecond = null;
            for (int i = 0; i < word.size() - 1; i++) {
                Integer rank = mergeRanks.get(word.get(i) + " " + word.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestFirst = word.get(i);
                    bestSecond = word.get(i + 1);
                }
            }
            if (bestFirst == null) break;
            List<String> merged = new ArrayList<>(word.size());
            int i = 0;
            while (i < word.size()) {
                if (i < word.size() - 1 && word.get(i).equals(bestFirst) && word.get(i + 1).equals(bestSecond)) {
                    merged.add(bestFirst + bestSecond);
                    i += 2;
                } else {
                    merged.add(word.get(i));
                    i++;
                }
            }
            word = merged;
        }
        String[] result = word.toArray(new String[0]);
        if (cache.size() < 100_000) cache.put(token, result);
        return result;
    }

    /** GPT-2's reversible map from bytes to printable characters (so BPE never sees spaces or controls). */
    private static char[] bytesToUnicode() {
        char[] map = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) {
            map[b] = printable[b] ? (char) b : (char) (256 + n++);
        }
        return map;
    }

    public int padId() {
        return padId;
    }

    public int maxLength() {
        return maxLength;
    }
}
