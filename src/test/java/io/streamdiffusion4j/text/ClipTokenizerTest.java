package io.streamdiffusion4j.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTokenizerTest {
    private static final int BOS = 49406;
    private static final int EOS = 49407;
    private static ClipTokenizer sd2;

    @BeforeAll
    static void load() throws Exception {
        sd2 = ClipTokenizer.load(Fixtures.onnxModel().resolve("tokenizer"));
    }

    private static int[] padded(int pad, int... content) {
        int[] out = new int[77];
        Arrays.fill(out, pad);
        out[0] = BOS;
        System.arraycopy(content, 0, out, 1, content.length);
        out[content.length + 1] = EOS;
        return out;
    }

    @Test
    void reproducesTheReferenceRunsIds() throws Exception {
        long[] prompt = Npy.readLongs(Fixtures.tensor("prompt_input_ids"));
        long[] negative = Npy.readLongs(Fixtures.tensor("negative_prompt_input_ids"));
        assertThat(Arrays.stream(sd2.encode("a watercolor painting of a fox in a snowy forest")).asLongStream().toArray())
                .containsExactly(prompt);
        assertThat(Arrays.stream(sd2.encode("")).asLongStream().toArray()).containsExactly(negative);
    }

    @Test
    void padsWithExclamationMarkForSd2AndSplitsItOffAsASpecialToken() {
        // the fixture README's example: "hi!!" -> [49406, 1883, 0, 0, 49407, 0, ...]
        assertThat(sd2.padId()).isZero();
        assertThat(sd2.encode("hi!!")).containsExactly(padded(0, 1883, 0, 0));
    }

    @Test
    void lowerCasesAndNormalisesWhitespace() {
        int[] plain = sd2.encode("a watercolor painting");
        assertThat(sd2.encode("A WaterColor   PAINTING")).containsExactly(plain);
        assertThat(sd2.encode("  a\twatercolor\npainting  ")).containsExactly(plain);
        assertThat(plain[1]).isEqualTo(320); // "a</w>"
    }

    @Test
    void splitsPunctuationAndDigits() {
        int comma = vocabId(",</w>");
        int[] ids = sd2.encode("fox, forest");
        assertThat(ids[2]).isEqualTo(comma);
        // every digit is its own pre-token (and so its own word): "2024" -> 2 0 2 4
        int[] digits = sd2.encode("2024");
        assertThat(Arrays.copyOfRange(digits, 1, 5))
                .containsExactly(vocabId("2</w>"), vocabId("0</w>"), vocabId("2</w>"), vocabId("4</w>"));
        assertThat(digits[5]).isEqualTo(EOS);
        // contractions are their own pre-tokens
        int[] s = sd2.encode("fox's");
        assertThat(s[2]).isEqualTo(vocabId("'s</w>"));
    }

    @Test
    void truncatesLongTextTo75TokensBetweenStartAndEnd() {
        String longText = "a fox ".repeat(60);
        int[] ids = sd2.encode(longText);
        assertThat(ids).hasSize(77);
        assertThat(ids[0]).isEqualTo(BOS);
        assertThat(ids[76]).isEqualTo(EOS);
        for (int i = 1; i < 76; i++) assertThat(ids[i]).isNotEqualTo(0).isNotEqualTo(EOS);
    }

    @Test
    void keepsSpecialTokensWrittenInTheText() {
        int[] ids = sd2.encode("fox<|endoftext|>");
        assertThat(ids[2]).isEqualTo(EOS);
        assertThat(ids[3]).isEqualTo(EOS);
    }

    @Test
    void sd15TokenizersPadWithEndOfText(@TempDir Path dir) throws Exception {
        Path src = Fixtures.onnxModel().resolve("tokenizer");
        Files.createSymbolicLink(dir.resolve("vocab.json"), src.resolve("vocab.json").toAbsolutePath());
        Files.createSymbolicLink(dir.resolve("merges.txt"), src.resolve("merges.txt").toAbsolutePath());
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"__type": "AddedToken", "content": "<|startoftext|>"},
                 "eos_token": {"__type": "AddedToken", "content": "<|endoftext|>"},
                 "unk_token": {"__type": "AddedToken", "content": "<|endoftext|>"},
                 "pad_token": "<|endoftext|>", "model_max_length": 77, "do_lower_case": true}
                """);
        ClipTokenizer sd15 = ClipTokenizer.load(dir);
        assertThat(sd15.padId()).isEqualTo(EOS);
        int[] ids = sd15.encode("hi!!");
        // "!" is ordinary text here: "!!" is one BPE token (748), and padding is 49407
        assertThat(ids).containsExactly(padded(EOS, 1883, 748));
    }

    @Test
    void aFolderWithoutVocabularyIsAClearError(@TempDir Path dir) {
        assertThatThrownBy(() -> ClipTokenizer.load(dir)).hasMessageContaining("vocab.json");
    }

    private static int vocabId(String token) {
        try {
            var json = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(Fixtures.onnxModel().resolve("tokenizer/vocab.json").toFile());
            return json.get(token).intValue();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
