package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The project's own tokenizer for the models it creates: CLIP's byte-level scheme with no
 * merges, so every UTF-8 byte is a token (512 ids: each byte alone and at a word end) plus the
 * start and end tokens. Written in the CLIP tokenizer file format, so the same
 * {@link io.streamdiffusion4j.text.ClipTokenizer} reads it, and it ships no third-party data.
 */
public final class ByteLevelTokenizer {
    public static final int BOS = 512;
    public static final int EOS = 513;
    public static final int VOCAB = 514;

    private ByteLevelTokenizer() {}

    public static void write(Path dir) throws IOException {
        write(dir, "<|endoftext|>");
    }

    /** With another padding token: SDXL's second tokenizer pads with {@code !} (a byte token here). */
    public static void write(Path dir, String padToken) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        ObjectNode vocab = json.createObjectNode();
        char[] byteChars = byteChars();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(byteChars[b]), b);
        for (int b = 0; b < 256; b++) vocab.put(byteChars[b] + "</w>", 256 + b);
        vocab.put("<|startoftext|>", BOS);
        vocab.put("<|endoftext|>", EOS);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("vocab.json").toFile(), vocab);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        ObjectNode config = json.createObjectNode();
        config.put("tokenizer_class", "CLIPTokenizer");
        config.put("bos_token", "<|startoftext|>");
        config.put("eos_token", "<|endoftext|>");
        config.put("unk_token", "<|endoftext|>");
        config.put("pad_token", padToken);
        config.put("model_max_length", 77);
        config.put("do_lower_case", true);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        ObjectNode special = json.createObjectNode();
        special.put("bos_token", "<|startoftext|>");
        special.put("eos_token", "<|endoftext|>");
        special.put("unk_token", "<|endoftext|>");
        special.put("pad_token", padToken);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("special_tokens_map.json").toFile(), special);
    }

    /** GPT-2's printable stand-ins for bytes (the same map the CLIP tokenizer uses). */
    static char[] byteChars() {
        char[] map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char) b : (char) (256 + n++);
        }
        return map;
    }
}
