package io.streamdiffusion4j.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Structure-aware mutation of JSON: parses the input, changes one to three things in the tree
 * (a value replaced by one of another type or an extreme one, a key removed, added or renamed
 * with the target's own key names, an array grown or emptied, a subtree copied elsewhere, deep
 * nesting), and writes it back. One input in five then also gets byte-level mutations, so the
 * parser's syntax errors are reached too; inputs that are not JSON get only byte-level ones.
 */
public final class JsonMutator implements Mutator {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final List<String> keys;
    private final List<String> words;
    private final ByteMutator bytes;
    private final int maxLength;

    /**
     * @param keys  the target's key names (added and renamed keys come from here, and from random text)
     * @param words string values the target knows (enum values, presets)
     */
    public JsonMutator(int maxLength, List<String> keys, List<String> words) {
        this.keys = keys;
        this.words = words;
        this.maxLength = maxLength;
        List<String> tokens = new ArrayList<>();
        keys.forEach(k -> tokens.add("\"" + k + "\""));
        words.forEach(w -> tokens.add("\"" + w + "\""));
        tokens.addAll(List.of("{", "}", "[", "]", ":", ",", "null", "true", "false", "-0", "1e999", "\\u0000", "\\ud800",
                "9223372036854775808", "NaN", "\"", "//", "/*"));
        this.bytes = new ByteMutator(maxLength, tokens);
    }

    @Override
    public byte[] mutate(byte[] base, List<byte[]> corpus, SplittableRandom r) {
        JsonNode root;
        try {
            root = JSON.readTree(base);
        } catch (Exception e) {
            root = null;
        }
        if (root == null || !root.isContainerNode()) return bytes.mutate(base, corpus, r);
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n && root.isContainerNode(); i++) root = once(root, corpus, r);
        byte[] out;
        try {
            out = root.toString().getBytes(StandardCharsets.UTF_8);
        } catch (RuntimeException tooDeepToWrite) {
            return bytes.mutate(base, corpus, r);
        }
        if (r.nextInt(100) == 0) { // nesting deeper than the writer allows: the parser's own limit must answer
            int depth = r.nextInt(900, 5000);
            out = ("[".repeat(depth) + new String(out, StandardCharsets.UTF_8) + "]".repeat(depth)).getBytes(StandardCharsets.UTF_8);
        }
        if (out.length > maxLength) out = java.util.Arrays.copyOf(out, maxLength);
        return r.nextInt(5) == 0 ? bytes.mutate(out, corpus, r) : out;
    }

    private JsonNode once(JsonNode root, List<byte[]> corpus, SplittableRandom r) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode c = containers.get(r.nextInt(containers.size()));
        if (c instanceof ObjectNode o) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            int op = names.isEmpty() ? 0 : r.nextInt(5);
            switch (op) {
                case 0 -> o.set(key(r), value(r, root, corpus));
                case 1, 2 -> o.set(names.get(r.nextInt(names.size())), value(r, root, corpus));
                case 3 -> o.remove(names.get(r.nextInt(names.size())));
                default -> {
                    String old = names.get(r.nextInt(names.size()));
                    o.set(key(r), o.remove(old));
                }
            }
        } else if (c instanceof ArrayNode a) {
            int op = a.isEmpty() ? 0 : r.nextInt(4);
            switch (op) {
                case 0 -> a.insert(a.isEmpty() ? 0 : r.nextInt(a.size() + 1), value(r, root, corpus));
                case 1 -> a.set(r.nextInt(a.size()), value(r, root, corpus));
                case 2 -> a.remove(r.nextInt(a.size()));
                default -> {
                    int times = 1 + r.nextInt(40);
                    JsonNode e = a.get(r.nextInt(a.size()));
                    for (int i = 0; i < times; i++) a.add(e.deepCopy());
                }
            }
        }
        return r.nextInt(50) == 0 ? value(r, root, corpus) : root; // now and then the whole message is something else
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (!n.isContainerNode()) return;
        out.add(n);
        for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) collect(it.next(), out);
    }

    private String key(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> text(r);
            case 1 -> keys.get(r.nextInt(keys.size())).toUpperCase();
            default -> keys.get(r.nextInt(keys.size()));
        };
    }

    private JsonNode value(SplittableRandom r, JsonNode root, List<byte[]> corpus) {
        return switch (r.nextInt(24)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(r.nextBoolean());
            case 2 -> F.numberNode(r.nextInt(-3, 100));
            case 3 -> F.numberNode(new int[] {Integer.MAX_VALUE, Integer.MIN_VALUE, -1, 0, 1, 4, 8, 49, 50, 51, 999, 1000}[r.nextInt(12)]);
            case 4 -> F.numberNode(new long[] {Long.MAX_VALUE, Long.MIN_VALUE, 0xFFFFFFFFL, 0x100000000L, 9007199254740993L,
                    9_000_000_000_000_000L, -2}[r.nextInt(7)]);
            case 5 -> F.numberNode(new BigInteger("1" + "0".repeat(r.nextInt(18, 400))));
            case 6 -> F.numberNode(new double[] {0.5, -0.0, 1e-320, 1e308, -1e308, 0.98, 1.2, 4.9999999, 5.0000001, 3.5}[r.nextInt(10)]);
            case 7 -> F.numberNode(new BigDecimal("1e" + r.nextInt(-400, 400)));
            case 8 -> F.numberNode(r.nextDouble() * 20 - 5);
            case 9, 10 -> F.textNode(words.isEmpty() ? text(r) : words.get(r.nextInt(words.size())));
            case 11 -> F.textNode(text(r));
            case 12 -> F.textNode("x".repeat(new int[] {0, 999, 1000, 1001, 5000}[r.nextInt(5)]));
            case 13 -> F.textNode(new String[] {"NaN", "Infinity", "-Infinity", " 7 ", "0x10", "1e999", "", "null", "3.5",
                    "-1", "18446744073709551615"}[r.nextInt(11)]);
            case 14 -> F.arrayNode();
            case 15 -> {
                ArrayNode a = F.arrayNode();
                int n = r.nextInt(8);
                for (int i = 0; i < n; i++) a.add(r.nextInt(-2, 60));
                yield a;
            }
            case 16 -> F.objectNode();
            case 17 -> { // deep nesting
                JsonNode n = F.numberNode(1);
                int depth = r.nextInt(10, 990);
                for (int i = 0; i < depth; i++) n = r.nextBoolean() ? F.arrayNode().add(n) : F.objectNode().set(key(r), n);
                yield n;
            }
            case 18, 19 -> { // a copy of part of this or another input
                List<JsonNode> nodes = new ArrayList<>();
                JsonNode src = root;
                if (r.nextBoolean()) {
                    try {
                        JsonNode other = JSON.readTree(corpus.get(r.nextInt(corpus.size())));
                        if (other != null) src = other;
                    } catch (Exception ignored) {
                        // not JSON: copy from this input
                    }
                }
                all(src, nodes);
                yield nodes.get(r.nextInt(nodes.size())).deepCopy();
            }
            default -> F.numberNode(r.nextInt(-1000, 1000) / 10.0);
        };
    }

    private static void all(JsonNode n, List<JsonNode> out) {
        out.add(n);
        for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) all(it.next(), out);
    }

    private static String text(SplittableRandom r) {
        int n = r.nextInt(12);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(10);
            sb.append(k < 6 ? (char) r.nextInt(0x20, 0x7f) : k < 8 ? (char) r.nextInt(0, 0x20)
                    : k < 9 ? (char) r.nextInt(0x80, 0xd7ff) : (char) r.nextInt(0xd800, 0xe000)); // lone surrogates too
        }
        return sb.toString();
    }
}
