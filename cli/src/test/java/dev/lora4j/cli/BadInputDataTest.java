package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad data that used to give a wrong answer with exit code 0, or crash: a classifier evaluated with the wrong label
 * ids, files with nothing to predict, token and class ids outside the model. Each is refused with exit code 2 and one
 * line naming the file, the row and what is allowed, or (labels) now gives the true answer.
 */
class BadInputDataTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path S2 = Cli.FIXTURES.resolve("tiny-llama-s2");
    private static final Path LLAMA = S2.resolve("model");
    private static final String MINILM = "builtin:all-minilm-l6-v2";
    private static final Path SPAM_TRAIN = Cli.ROOT.resolve("examples/data/spam-train.jsonl");
    private static final Path SPAM_EVAL = Cli.ROOT.resolve("examples/data/spam-eval.jsonl");

    @TempDir
    static Path shared;

    /** A spam classifier trained through the CLI's {@code train}, its labels inferred from the file (sorted). */
    private static Path adapter;
    /** The same adapter as PEFT writes it: no label names beside it. */
    private static Path peftAdapter;
    /** Only the spam rows of the eval file. */
    private static Path spamOnly;

    @BeforeAll
    static void trainASpamClassifier() throws IOException {
        Path config = shared.resolve("spam.yaml");
        Files.writeString(config, String.join("\n", "name: spam", "model: " + MINILM, "task: SEQ_CLS",
                "data: {train: " + SPAM_TRAIN + ", eval: " + SPAM_EVAL + ", max_length: 32}",
                "training: {learning_rate: 3.0e-3, batch_size: 16, max_steps: 30, seed: 42}",
                "lora: {r: 4, lora_alpha: 8, target_modules: [query, value], modules_to_save: [classifier]}", ""));
        Cli.Result r = Cli.run("train", config, "--out", shared.resolve("run"));
        assertEquals(0, r.code(), r.toString());
        adapter = shared.resolve("run/adapter");
        peftAdapter = shared.resolve("peft-adapter");
        Files.createDirectories(peftAdapter);
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            Files.copy(adapter.resolve(f), peftAdapter.resolve(f));
        }
        spamOnly = shared.resolve("spam-only.jsonl");
        try (Stream<String> lines = Files.lines(SPAM_EVAL)) {
            Files.write(spamOnly, lines.filter(l -> l.contains("\"label\": \"spam\"")).limit(40).toList());
        }
    }

    private static double accuracy(Cli.Result r) throws IOException {
        assertEquals(0, r.code(), r.toString());
        return JSON.readTree(r.out()).get("eval_accuracy").asDouble();
    }

    private static Path write(Path dir, String name, String... lines) throws IOException {
        return Files.writeString(dir.resolve(name), String.join("\n", lines) + "\n");
    }

    /** The first {@code n} rows of the spam eval file with their label replaced by {@code label} (JSON). */
    private static Path relabelled(Path dir, String name, int n, String label) throws IOException {
        try (Stream<String> lines = Files.lines(SPAM_EVAL)) {
            return Files.write(dir.resolve(name), lines.limit(n)
                    .map(l -> l.replaceAll("\"label\": \"(ham|spam)\"", "\"label\": " + label)).toList());
        }
    }

    // ------------------------------------------------------------------ a classifier's label names

    @Test
    void aTrainedClassifierCarriesItsLabelsAndASpamOnlyFileGetsTheTrueAccuracy() throws IOException {
        JsonNode saved = JSON.readTree(adapter.resolve("config.json").toFile());
        assertEquals("ham", saved.get("id2label").get("0").asText());
        assertEquals("spam", saved.get("id2label").get("1").asText());
        assertEquals(1, saved.get("label2id").get("spam").asInt());
        assertEquals("BertForSequenceClassification", saved.get("architectures").get(0).asText());
        assertFalse(Files.readString(adapter.resolve("adapter_config.json")).contains("id2label"),
                "PEFT would drop the key with a warning: the names are not in adapter_config.json");

        double truth = accuracy(Cli.run("eval", "--model", MINILM, "--adapter", adapter, "--data", spamOnly,
                "--max-length", 32, "--labels", "ham,spam", "--json"));
        assertTrue(truth > 0.5, "the classifier learnt something: " + truth);
        Cli.Result plain = Cli.run("eval", "--model", MINILM, "--adapter", adapter, "--data", spamOnly,
                "--max-length", 32, "--json");
        assertEquals(truth, accuracy(plain), 1e-9, "the adapter's own labels, not the file's sorted [spam]");
        assertEquals("", plain.err(), "nothing to warn about");
    }

    @Test
    void aSweepTrialsAdapterCarriesItsLabelsToo(@TempDir Path tmp) throws IOException {
        Path train = tmp.resolve("train.jsonl");
        try (Stream<String> lines = Files.lines(SPAM_TRAIN)) {
            Files.write(train, lines.limit(32).toList());
        }
        Path spec = write(tmp, "sweep.yaml", "name: s", "model: " + MINILM, "task: SEQ_CLS", "data: {train: " + train
                + ", max_length: 16}", "training: {max_steps: 2, batch_size: 8}", "lora: {target_modules: [query]}",
                "method: grid", "metric: {name: train_loss, goal: minimize}", "parameters:", "  r: {values: [2]}");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 1);
        assertEquals(0, r.code(), r.toString());
        try (Stream<Path> trials = Files.list(run.resolve("trials"))) {
            Path trial = trials.findFirst().orElseThrow();
            JsonNode saved = JSON.readTree(trial.resolve("adapter/config.json").toFile());
            assertEquals("ham", saved.get("id2label").get("0").asText(), saved.toString());
            assertEquals("spam", saved.get("id2label").get("1").asText(), saved.toString());
        }
    }

    @Test
    void mergeWritesTheLabelsIntoTheMergedConfigAndTheMergedFolderIsAClassifier() throws IOException {
        Path merged = shared.resolve("merged");
        Cli.Result m = Cli.run("merge", "--model", MINILM, "--adapter", adapter, "--out", merged);
        assertEquals(0, m.code(), m.toString());
        JsonNode config = JSON.readTree(merged.resolve("config.json").toFile());
        assertEquals("spam", config.get("id2label").get("1").asText());
        assertEquals(0, config.get("label2id").get("ham").asInt());
        assertEquals("BertForSequenceClassification", config.get("architectures").get(0).asText());
        double truth = accuracy(Cli.run("eval", "--model", MINILM, "--adapter", adapter, "--data", spamOnly,
                "--max-length", 32, "--labels", "ham,spam", "--json"));
        // no --task, no --labels: the merged config.json says both, as it does for transformers
        assertEquals(truth, accuracy(Cli.run("eval", "--model", merged, "--data", spamOnly, "--max-length", 32,
                "--json")), 1e-5);
    }

    @Test
    void aModelsOwnLabelsNameTheClassesUnlessLabelsAreGiven(@TempDir Path tmp) throws IOException {
        Path merged = tmp.resolve("merged");
        assertEquals(0, Cli.run("merge", "--model", MINILM, "--adapter", adapter, "--out", merged).code());
        Path junk = tmp.resolve("junk.jsonl");
        Files.write(junk, Files.readAllLines(spamOnly).stream()
                .map(l -> l.replace("\"label\": \"spam\"", "\"label\": \"junk\"")).toList());
        Path oneJunk = Files.write(tmp.resolve("one-junk.jsonl"), Files.readAllLines(junk).subList(0, 1));
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", merged, "--data", oneJunk,
            "--max-length", 32}, oneJunk + ":1: label \"junk\" is not one of [ham, spam]", "the model's labels,"
                + " id2label in " + merged.resolve("config.json"), "unless --labels names them");
        double truth = accuracy(Cli.run("eval", "--model", MINILM, "--adapter", adapter, "--data", spamOnly,
                "--max-length", 32, "--json"));
        assertEquals(truth, accuracy(Cli.run("eval", "--model", merged, "--data", junk, "--max-length", 32,
                "--labels", "legit,junk", "--json")), 1e-5, "given names override the model's id2label");
    }

    @Test
    void aPeftAdapterWithoutLabelsStillEvaluatesAndTheSortedFallbackIsSaidOutLoud() throws IOException {
        double truth = accuracy(Cli.run("eval", "--model", MINILM, "--adapter", peftAdapter, "--data", spamOnly,
                "--max-length", 32, "--labels", "ham,spam", "--json"));
        assertTrue(truth > 0.5, "same weights as the trained adapter: " + truth);
        Cli.Result sorted = Cli.run("eval", "--model", MINILM, "--adapter", peftAdapter, "--data", spamOnly,
                "--max-length", 32, "--json");
        accuracy(sorted);
        String warning = sorted.err().strip();
        assertEquals(1, warning.lines().count(), sorted.err());
        assertTrue(warning.startsWith("lora4j: warning: " + spamOnly + ": neither the adapter nor the model names"
                + " its labels"), warning);
        assertTrue(warning.contains("the file's labels, sorted, are the class ids: spam=0"), warning);
        assertTrue(warning.contains("the model has 2 classes but the file names only 1"), warning);
        assertTrue(warning.contains("--labels"), warning);
    }

    @Test
    void aLabelTheAdapterDoesNotKnowIsRefused(@TempDir Path tmp) throws IOException {
        Path data = relabelled(tmp, "eggs.jsonl", 1, "\"eggs\"");
        BadInput.assertRefusedLeaving(adapter, 2, new Object[] {"eval", "--model", MINILM, "--adapter", adapter,
            "--data", data, "--max-length", 32}, data + ":1: label \"eggs\" is not one of [ham, spam]",
                "the adapter's labels, id2label in " + adapter.resolve("config.json"));
    }

    @Test
    void labelsThatContradictTheAdapterAreRefused() {
        BadInput.assertRefusedLeaving(adapter, 2, new Object[] {"eval", "--model", MINILM, "--adapter", adapter,
            "--data", spamOnly, "--labels", "spam,ham"}, "the labels given [spam, ham] differ from the adapter's"
                + " labels", "[ham, spam]", "config.json");
    }

    @Test
    void aClassIdOutsideTheModelIsRefusedWithTheAllowedRange(@TempDir Path tmp) throws IOException {
        Path data = relabelled(tmp, "ids.jsonl", 3, "1");
        List<String> rows = Files.readAllLines(data);
        rows.set(2, rows.get(2).replace("\"label\": 1", "\"label\": 700"));
        Files.write(data, rows);
        // the adapter names two classes
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", MINILM, "--adapter", adapter,
            "--data", data, "--max-length", 32}, data + ":3: label 700 is out of range: class ids are 0..1 for"
                + " [ham, spam]");
        // nothing names them: the classifier's size is the range
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", MINILM, "--adapter", peftAdapter,
            "--data", data, "--max-length", 32}, data + ":3: label 700 is out of range: the model's classifier"
                + " has 2 classes, ids 0 to 1");
    }

    @Test
    void trainingOnMoreClassesThanTheClassifierHasIsRefused(@TempDir Path tmp) throws IOException {
        Path data = tmp.resolve("three.jsonl");
        try (Stream<String> lines = Files.lines(SPAM_EVAL)) {
            List<String> rows = lines.limit(12).toList();
            Files.write(data, java.util.stream.IntStream.range(0, rows.size()).mapToObj(i -> rows.get(i)
                    .replaceAll("\"label\": \"(ham|spam)\"", "\"label\": \"" + "abc".charAt(i % 3) + "\"")).toList());
        }
        Path config = write(tmp, "three.yaml", "name: three", "model: " + MINILM, "task: SEQ_CLS",
                "data: {train: " + data + ", max_length: 16}", "training: {max_steps: 1, batch_size: 4}",
                "lora: {target_modules: [query]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", config, "--out", tmp.resolve("out")},
                data + ": the file's labels [a, b, c] are 3 classes but the model's classifier has 2");
    }

    // ------------------------------------------------------------------ nothing to predict

    @Test
    void evalOfAFileWithoutATargetIsRefusedNamingTheCause(@TempDir Path tmp) throws IOException {
        Path ignored = write(tmp, "ignored.jsonl", "{\"input_ids\": [1, 2, 3], \"labels\": [-100, -100, -100]}",
                "{\"input_ids\": [4, 5], \"labels\": [-100, -100]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", LLAMA, "--data", ignored},
                ignored + ": no target token in any row: every label is -100 (ignored)");
        Path data = S2.resolve("data.jsonl");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", LLAMA, "--data", data,
            "--max-length", 1}, data + ": no target token in any row: truncation to max_length 1 leaves nothing to"
                + " predict", "--max-length");
    }

    @Test
    void trainWithoutATargetNamesTheRealCause(@TempDir Path tmp) throws IOException {
        Path ignored = write(tmp, "ignored.jsonl", "{\"input_ids\": [1, 2, 3], \"labels\": [-100, -100, -100]}",
                "{\"input_ids\": [4, 5], \"labels\": [-100, -100]}");
        Path a = write(tmp, "a.yaml", "name: a", "model: " + LLAMA, "task: CAUSAL_LM", "data: {train: " + ignored
                + "}", "training: {max_steps: 2, batch_size: 2}", "lora: {r: 4, target_modules: [q_proj]}");
        String line = BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", a, "--out", tmp.resolve("a")},
                ignored + ": no target token in any row: every label is -100 (ignored)");
        assertFalse(line.contains("prompt"), "not blamed on prompts: " + line);
        Path data = S2.resolve("data.jsonl");
        Path b = write(tmp, "b.yaml", "name: b", "model: " + LLAMA, "task: CAUSAL_LM", "data: {train: " + data
                + ", max_length: 1}", "training: {max_steps: 2, batch_size: 2}", "lora: {r: 4, target_modules:"
                + " [q_proj]}");
        line = BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", b, "--out", tmp.resolve("b")},
                data + ": no target token in any row: truncation to max_length 1 leaves nothing to predict: a row"
                        + " keeps only its first token", "raise data.max_length");
        assertFalse(line.contains("prompt"), "not blamed on prompts: " + line);
    }

    @Test
    void anEvalFileWithoutATargetIsRefusedBeforeTraining(@TempDir Path tmp) throws IOException {
        Path ignored = write(tmp, "ignored.jsonl", "{\"input_ids\": [1, 2, 3], \"labels\": [-100, -100, -100]}");
        Path config = write(tmp, "c.yaml", "name: c", "model: " + LLAMA, "task: CAUSAL_LM", "data: {train: "
                + S2.resolve("data.jsonl") + ", eval: " + ignored + "}", "training: {max_steps: 2, batch_size: 2}",
                "lora: {r: 4, target_modules: [q_proj]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", config, "--out", tmp.resolve("c")},
                ignored + ": no target token in any row: every label is -100 (ignored)");
    }

    // ------------------------------------------------------------------ token ids outside the vocabulary

    @Test
    void tokenIdsOutsideTheVocabularyAreRefusedByEval(@TempDir Path tmp) throws IOException {
        Path big = write(tmp, "big.jsonl", "{\"input_ids\": [1, 2, 3]}", "{\"input_ids\": [4, 101]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", LLAMA, "--data", big},
                big + ":2: \"input_ids\" has 101: token ids are 0 to 100 (the model's vocab_size is 101)");
        Path negative = write(tmp, "negative.jsonl", "{\"input_ids\": [-5, 2, 3]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", LLAMA, "--data", negative},
                negative + ":1: \"input_ids\" has -5: token ids are 0 to 100");
        Path labels = write(tmp, "labels.jsonl", "{\"input_ids\": [1, 2, 3], \"labels\": [-100, 2, 700]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", LLAMA, "--data", labels},
                labels + ":1: \"labels\" has 700: labels are token ids (0 to 100", "or -100 (ignored)");
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreRefusedByTrain(@TempDir Path tmp) throws IOException {
        Path big = write(tmp, "big.jsonl", "{\"input_ids\": [1, 2, 3]}", "{\"input_ids\": [4, 500]}");
        Path config = write(tmp, "t.yaml", "name: t", "model: " + LLAMA, "task: CAUSAL_LM", "data: {train: " + big
                + "}", "training: {max_steps: 2, batch_size: 2}", "lora: {r: 4, target_modules: [q_proj]}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", config, "--out", tmp.resolve("out")},
                big + ":2: \"input_ids\" has 500: token ids are 0 to 100 (the model's vocab_size is 101)");
    }

    @Test
    void aSweepFailsTheTrialAsBadDataBeforeItTrains(@TempDir Path tmp) throws IOException {
        Path big = write(tmp, "big.jsonl", "{\"input_ids\": [1, 2, 3]}", "{\"input_ids\": [4, 500]}");
        Path spec = write(tmp, "sweep.yaml", "name: s", "model: " + LLAMA, "task: CAUSAL_LM", "data: {train: "
                + big + "}", "training: {max_steps: 2, batch_size: 2}", "lora: {target_modules: [q_proj]}",
                "method: grid", "metric: {name: train_loss, goal: minimize}", "parameters:", "  r: {values: [2, 4]}",
                "resources: {max_failures: 3}");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2);
        assertEquals(1, r.code(), "a failed trial: " + r);
        assertFalse(r.err().contains("internal error") || r.out().contains("internal error"), r.toString());
        String reason = big + ":2: \"input_ids\" has 500: token ids are 0 to 100 (the model's vocab_size is 101)";
        try (Stream<Path> trials = Files.list(run.resolve("trials"))) {
            List<Path> all = trials.toList();
            assertEquals(2, all.size());
            for (Path t : all) {
                JsonNode result = JSON.readTree(t.resolve("result.json").toFile());
                assertEquals("failed", result.get("status").asText(), result.toString());
                assertEquals("bad_data", result.get("failure").asText(), result.toString());
                assertEquals(reason, result.get("reason").asText());
                assertEquals(1, result.get("attempts").asInt(), "bad data is not retried");
                assertEquals(0, result.get("steps").asInt(), "refused before any step");
            }
        }
    }
}
