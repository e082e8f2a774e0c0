package dev.lora4j.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Small but real tokenizer.json files, written the way the Hugging Face tokenizers library saves them, so tests can
 * check exact ids.
 */
public final class TestTokenizers {
    private TestTokenizers() {}

    /**
     * BERT style: WordLevel over whitespace-split words, {@code [CLS] ... [SEP]} from a BertProcessing post-processor.
     * Ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, then {@link #WORDS} from 4. With {@code builtInLimits}, the file
     * truncates to 4 tokens and pads to 8 on its own, as all-MiniLM's tokenizer.json does with 128.
     */
    public static Path bert(Path dir, boolean builtInLimits) {
        String limits = builtInLimits
                ? """
                  "truncation": {"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0},
                  "padding": {"strategy": {"Fixed": 8}, "direction": "Right", "pad_to_multiple_of": null,
                              "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
                  """
                : """
                  "truncation": null,
                  "padding": null,
                  """;
        StringBuilder vocab = new StringBuilder("\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3");
        for (int i = 0; i < WORDS.length; i++) {
            vocab.append(", \"").append(WORDS[i]).append("\": ").append(4 + i);
        }
        String json = """
                {
                  "version": "1.0",
                  %s
                  "added_tokens": [%s, %s, %s, %s],
                  "normalizer": null,
                  "pre_tokenizer": {"type": "Whitespace"},
                  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
                  "decoder": null,
                  "model": {"type": "WordLevel", "vocab": {%s}, "unk_token": "[UNK]"}
                }
                """.formatted(limits, added(0, "[PAD]"), added(1, "[UNK]"), added(2, "[CLS]"), added(3, "[SEP]"),
                vocab);
        return write(dir, Tokenizer.FILE, json);
    }

    /** The words of {@link #bert}, id 4 onwards. */
    public static final String[] WORDS = {"hello", "world", "good", "bad", "movie", "great", "is", "the", "a", "not"};

    /** The BERT id of a word. */
    static long bertId(String word) {
        for (int i = 0; i < WORDS.length; i++) {
            if (WORDS[i].equals(word)) {
                return 4 + i;
            }
        }
        return 1;
    }

    /**
     * Llama style: BPE with merges {@code a b -> ab}, {@code ab c -> abc}, BOS prepended by a TemplateProcessing
     * post-processor. Ids: <unk> 0, <s> 1, </s> 2, a 3, b 4, c 5, ab 6, abc 7, d 8, <pad> 9.
     */
    static Path llama(Path dir) {
        String json = """
                {
                  "version": "1.0",
                  "truncation": null,
                  "padding": null,
                  "added_tokens": [%s, %s, %s, %s],
                  "normalizer": null,
                  "pre_tokenizer": {"type": "Whitespace"},
                  "post_processor": {
                    "type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}
                  },
                  "decoder": null,
                  "model": {
                    "type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                    "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "a": 3, "b": 4, "c": 5, "ab": 6, "abc": 7, "d": 8},
                    "merges": ["a b", "ab c"]
                  }
                }
                """.formatted(added(0, "<unk>"), added(1, "<s>"), added(2, "</s>"), added(9, "<pad>"));
        return write(dir, Tokenizer.FILE, json);
    }

    /** A tokenizer_config.json as transformers writes for Llama (tokens as AddedToken objects, flags). */
    static Path llamaConfig(Path dir, Boolean addBos, Boolean addEos, String padToken) {
        StringBuilder json = new StringBuilder("{\n");
        json.append("  \"bos_token\": {\"__type\": \"AddedToken\", \"content\": \"<s>\", \"special\": true},\n");
        json.append("  \"eos_token\": \"</s>\",\n");
        json.append("  \"pad_token\": ").append(padToken == null ? "null" : "\"" + padToken + "\"");
        if (addBos != null) {
            json.append(",\n  \"add_bos_token\": ").append(addBos);
        }
        if (addEos != null) {
            json.append(",\n  \"add_eos_token\": ").append(addEos);
        }
        json.append("\n}\n");
        return write(dir, Tokenizer.CONFIG, json.toString());
    }

    static Path write(Path dir, String name, String text) {
        try {
            Files.createDirectories(dir);
            return Files.writeString(dir.resolve(name), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String added(int id, String content) {
        return """
                {"id": %d, "content": "%s", "single_word": false, "lstrip": false, "rstrip": false, \
                "normalized": false, "special": true}""".formatted(id, content);
    }
}
