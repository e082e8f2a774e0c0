package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.config.TaskType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizedDatasetTest {
    private static final long I = -100;
    private static final DataOptions CAUSAL = DataOptions.of(TaskType.CAUSAL_LM);

    @TempDir
    Path dir;

    private Tokenizer llama(Boolean addEos) {
        Path t = dir.resolve("llama");
        TestTokenizers.llama(t);
        TestTokenizers.llamaConfig(t, null, addEos, null);
        return Tokenizer.load(t);
    }

    private Path file(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    private TokenizedDataset build(Tokenizer t, String name, String content, DataOptions options)
            throws IOException {
        return TokenizedDataset.build(file(name, content), t, options);
    }

    @Test
    void textRowsLearnEveryToken() throws IOException {
        try (Tokenizer t = llama(null)) {
            TokenizedDataset d = build(t, "t.jsonl", """
                    {"text": "abc d"}
                    {"text": "ab ab ab c"}
                    """, CAUSAL.withMaxLength(4));
            Example a = d.example(0);
            assertArrayEquals(new long[] {1, 7, 8}, a.inputIds());
            assertArrayEquals(new long[] {1, 7, 8}, a.labels());
            assertNull(a.tokenTypes());
            assertArrayEquals(new long[] {1, 6, 6, 6}, d.example(1).inputIds(), "the first max_length tokens");
            assertEquals(new TokenizedDataset.Stats(2, 7, 1, 4, 5, 0, Map.of()), d.stats());
            assertEquals(2, d.padId(), "EOS pads when there is no pad token");
        }
    }

    @Test
    void promptCompletionLearnsTheCompletionAndEos() throws IOException {
        try (Tokenizer t = llama(null)) {
            TokenizedDataset d = build(t, "pc.jsonl", """
                    {"prompt": "ab d", "completion": "abc c"}
                    {"prompt": "d d d", "completion": "a"}
                    """, CAUSAL.withMaxLength(5));
            // <s> ab d | abc c </s>: the prompt with BOS, the completion without, EOS appended
            assertArrayEquals(new long[] {1, 6, 8, 7, 5, 2}, TokenizedDataset.build(dir.resolve("pc.jsonl"), t,
                    CAUSAL).example(0).inputIds());
            Example a = d.example(0);
            assertArrayEquals(new long[] {1, 6, 8, 7, 5}, a.inputIds(), "cut to 5: EOS falls off");
            assertArrayEquals(new long[] {I, I, I, 7, 5}, a.labels());
            Example b = d.example(1);
            assertArrayEquals(new long[] {1, 8, 8, 8, 3}, b.inputIds());
            assertArrayEquals(new long[] {I, I, I, I, 3}, b.labels());
            TokenizedDataset.Stats s = d.stats();
            assertEquals(2, s.truncatedRows());
            assertEquals(3, s.targetTokens(), "7, 5 and 3");
        }
    }

    @Test
    void promptLongerThanMaxLengthLeavesNoTarget() throws IOException {
        try (Tokenizer t = llama(null)) {
            TokenizedDataset d = build(t, "pc.jsonl", """
                    {"prompt": "d d d d", "completion": "a"}
                    """, CAUSAL.withMaxLength(3));
            assertArrayEquals(new long[] {I, I, I}, d.example(0).labels());
            assertEquals(1, d.stats().rowsWithoutTargets());
        }
    }

    @Test
    void whyNothingIsLeftToPredict() throws IOException {
        try (Tokenizer t = llama(null)) {
            TokenizedDataset prompts = build(t, "pc.jsonl", """
                    {"prompt": "d d d d", "completion": "a"}
                    {"prompt": "d d d", "completion": "a"}
                    """, CAUSAL.withMaxLength(3));
            assertEquals(Optional.of(dir.resolve("pc.jsonl") + ": no target token in any row: truncation to"
                    + " max_length 3 leaves nothing to predict: every prompt is 3 tokens or longer, so no completion"
                    + " token is left; raise data.max_length or shorten the prompts"),
                    prompts.whyNothingToPredict("data.max_length"));
            DataException e = assertThrows(DataException.class, () -> prompts.requireTargets("data.max_length"));
            assertEquals(prompts.whyNothingToPredict("data.max_length").orElseThrow(), e.getMessage());

            TokenizedDataset ignored = build(t, "i.jsonl", """
                    {"input_ids": [10, 11, 12], "labels": [-100, -100, -100]}
                    {"input_ids": [10, 11], "labels": [10, -100]}
                    """, CAUSAL);
            assertEquals(Optional.of(dir.resolve("i.jsonl") + ": no target token in any row: every label is -100"
                    + " (ignored) after each row's first token (a causal LM never predicts a row's first token), so"
                    + " there is nothing to predict"), ignored.whyNothingToPredict("x"));

            TokenizedDataset single = build(t, "s.jsonl", "{\"input_ids\": [10]}\n", CAUSAL);
            assertEquals(Optional.of(dir.resolve("s.jsonl") + ": no target token in any row: every row is a single"
                    + " token, and a causal LM never predicts a row's first token"), single.whyNothingToPredict("x"));

            TokenizedDataset one = build(t, "o.jsonl", "{\"input_ids\": [10, 11, 12]}\n", CAUSAL.withMaxLength(1));
            assertEquals(Optional.of(dir.resolve("o.jsonl") + ": no target token in any row: truncation to"
                    + " max_length 1 leaves nothing to predict: a row keeps only its first token, which a causal LM"
                    + " never predicts; raise --max-length"), one.whyNothingToPredict("--max-length"));

            TokenizedDataset late = build(t, "l.jsonl", "{\"input_ids\": [10, 11, 12], \"labels\": [-100, -100,"
                    + " 12]}\n", CAUSAL.withMaxLength(2));
            assertEquals(Optional.of(dir.resolve("l.jsonl") + ": no target token in any row: truncation to"
                    + " max_length 2 leaves nothing to predict: every target token (a label that is not -100) lies"
                    + " beyond a row's first 2 tokens; raise m"), late.whyNothingToPredict("m"));

            TokenizedDataset fine = build(t, "f.jsonl", "{\"input_ids\": [10, 11]}\n", CAUSAL);
            assertEquals(Optional.empty(), fine.whyNothingToPredict("m"));
            fine.requireTargets("m");
        }
    }

    @Test
    void aTokenizerThatGivesIdsBeyondTheModelsVocabularyIsNotTheModels() throws IOException {
        try (Tokenizer t = llama(null)) {
            // "d" is [<s>, d]: id 8 is beyond an 8-token vocabulary
            Path f = file("t.jsonl", "{\"text\": \"abc\"}\n{\"text\": \"d\"}\n");
            var e = assertThrows(dev.lora4j.model.ModelException.class,
                    () -> TokenizedDataset.build(f, t, CAUSAL.withModel(8, 0)));
            assertEquals(f + ":2: the tokenizer (" + t.identity() + ") gave token id 8, but the model's vocab_size"
                    + " is 8 (ids 0 to 7): the tokenizer is not the model's", e.getMessage());
            assertEquals(2, TokenizedDataset.build(f, t, CAUSAL.withModel(9, 0)).size());
        }
    }

    @Test
    void addEosTokenInTheConfigEndsTextRows() throws IOException {
        try (Tokenizer t = llama(true)) {
            TokenizedDataset d = build(t, "t.jsonl", "{\"text\": \"abc\"}\n", CAUSAL);
            assertArrayEquals(new long[] {1, 7, 2}, d.example(0).inputIds());
        }
    }

    @Test
    void pretokenisedRowsKeepTheirIgnoredLabels() throws IOException {
        try (Tokenizer t = llama(null)) {
            long before = t.textsEncoded();
            TokenizedDataset d = build(t, "ids.jsonl", """
                    {"input_ids": [10, 11, 12, 13], "labels": [-100, -100, 12, 13]}
                    {"input_ids": [20, 21, 22, 23, 24, 25]}
                    """, CAUSAL.withMaxLength(5));
            assertArrayEquals(new long[] {10, 11, 12, 13}, d.example(0).inputIds());
            assertArrayEquals(new long[] {I, I, 12, 13}, d.example(0).labels());
            assertArrayEquals(new long[] {20, 21, 22, 23, 24}, d.example(1).inputIds());
            assertArrayEquals(new long[] {20, 21, 22, 23, 24}, d.example(1).labels());
            assertEquals(1, d.stats().truncatedRows());
            assertEquals(2 + 4, d.stats().targetTokens());
            assertEquals(before, t.textsEncoded(), "nothing to tokenise");
        }
    }

    @Test
    void classificationKeepsClsAndSepWhenTruncating() throws IOException {
        Path bert = dir.resolve("bert");
        TestTokenizers.bert(bert, true);
        try (Tokenizer t = Tokenizer.load(bert)) {
            TokenizedDataset d = build(t, "c.csv", """
                    text,label
                    the movie is great,pos
                    bad,neg
                    "not good, not bad",neg
                    """, DataOptions.of(TaskType.SEQ_CLS).withMaxLength(4));
            assertEquals(List.of("neg", "pos"), d.labelNames());
            // [CLS] the movie [SEP]: the text is cut, both special tokens stay
            assertArrayEquals(new long[] {2, 11, 8, 3}, d.example(0).inputIds());
            assertEquals(1, d.example(0).classLabel());
            assertNull(d.example(0).labels());
            assertArrayEquals(new long[] {2, 7, 3}, d.example(1).inputIds());
            assertEquals(0, d.example(1).classLabel());
            assertEquals(new TokenizedDataset.Stats(3, 11, 2, 4, 3, 0, Map.of("neg", 2, "pos", 1)), d.stats());
            assertEquals(List.of("neg", "pos"), List.copyOf(d.stats().labelCounts().keySet()), "in id order");
            assertSame(TaskType.SEQ_CLS, d.task());
        }
    }
}
