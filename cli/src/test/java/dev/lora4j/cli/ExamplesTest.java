package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped examples: they validate, and the causal-LM sweep runs end to end (on the tiny fixture model). */
class ExamplesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theDemoSweepValidates() {
        Path demo = Cli.ROOT.resolve("examples/spam-minilm.yaml");
        Cli.Result r = Cli.run("validate", demo);
        assertEquals(0, r.code(), r.toString());
        assertEquals(demo + ": OK sweep spam-minilm: 4 trials (grid over r, lora_alpha), metric eval_accuracy"
                + " maximize", r.lines().get(0));
    }

    /**
     * examples/llama-sweep.yaml with its model replaced by the tiny Llama fixture and a character-level tokenizer
     * (ids below the fixture's vocabulary of 101; rows are then about 650 tokens long), and fewer steps: text rows
     * are tokenised, prompts masked, and four causal-LM trials train.
     */
    @Test
    void theCausalLmExampleRunsOnATinyLlama(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        Path fixture = Cli.FIXTURES.resolve("tiny-llama-s2/model");
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(fixture.resolve(f), model.resolve(f));
        }
        writeCharTokenizer(model);
        // the example's data, cut to a few rows so the test stays quick
        Path data = tmp.resolve("data");
        Files.createDirectories(data);
        for (String f : List.of("spam-instruct-train.jsonl", "spam-instruct-eval.jsonl")) {
            Files.write(data.resolve(f), Files.readAllLines(Cli.ROOT.resolve("examples/data").resolve(f))
                    .subList(0, 12));
        }
        String example = Files.readString(Cli.ROOT.resolve("examples/llama-sweep.yaml"))
                .replace("model: ../models/TinyLlama-1.1B-Chat-v1.0", "model: " + model)
                .replace("train: data/", "train: " + data + "/")
                .replace("eval: data/", "eval: " + data + "/")
                .replace("max_length: 256", "max_length: 700")
                .replace("max_steps: 100", "max_steps: 4")
                .replace("eval_steps: 25", "eval_steps: 4")
                .replace("save_steps: 25", "save_steps: 2")
                .replace("gradient_accumulation_steps: 4", "gradient_accumulation_steps: 2");
        Path spec = tmp.resolve("llama-sweep.yaml");
        Files.writeString(spec, example);
        Cli.Result r = Cli.run("sweep", spec, "--out", tmp.resolve("run"), "--cpu-lanes", 2, "--json");
        assertEquals(0, r.code(), r.toString());
        var report = JSON.readTree(r.out());
        assertEquals(4, report.get("leaderboard").size());
        for (var t : report.get("leaderboard")) {
            assertEquals("finished", t.get("status").asText());
            assertTrue(Double.isFinite(t.get("metrics").get("eval_loss").asDouble()), t.toString());
            assertTrue(Files.isRegularFile(Path.of(t.get("adapter").asText()).resolve("adapter_config.json")));
        }
    }

    @Test
    void promptsLongerThanMaxLengthAreAnError(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        Path fixture = Cli.FIXTURES.resolve("tiny-llama-s2/model");
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(fixture.resolve(f), model.resolve(f));
        }
        writeCharTokenizer(model);
        Path data = Cli.ROOT.resolve("examples/data/spam-instruct-eval.jsonl");
        Path config = tmp.resolve("train.yaml");
        Files.writeString(config, "name: short\nmodel: " + model + "\ntask: CAUSAL_LM\ndata: {train: " + data
                + ", max_length: 48}\ntraining: {max_steps: 1}\nlora: {target_modules: [q_proj]}\n");
        Cli.Result r = Cli.run("train", config, "--out", tmp.resolve("out"));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("truncation to max_length 48 leaves nothing to predict: every prompt is 48"
                + " tokens or longer"), r.err());
    }

    /** A WordLevel tokenizer over single printable ASCII characters, with Llama's BOS/EOS conventions. */
    static void writeCharTokenizer(Path dir) throws IOException {
        ObjectNode vocab = JSON.createObjectNode();
        vocab.put("<unk>", 0).put("<s>", 1).put("</s>", 2);
        int id = 3;
        for (char c = 32; c < 127; c++) {
            vocab.put(String.valueOf(c), id++);
        }
        ObjectNode tok = JSON.createObjectNode();
        tok.put("version", "1.0");
        tok.putNull("truncation");
        tok.putNull("padding");
        ArrayNode added = tok.putArray("added_tokens");
        for (String s : List.of("<unk>", "<s>", "</s>")) {
            added.addObject().put("id", vocab.get(s).asInt()).put("content", s).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        tok.putNull("normalizer");
        ObjectNode pre = tok.putObject("pre_tokenizer");
        pre.put("type", "Split");
        pre.putObject("pattern").put("Regex", ".");
        pre.put("behavior", "Isolated").put("invert", false);
        ObjectNode post = tok.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 0);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        tok.putNull("decoder");
        ObjectNode model = tok.putObject("model");
        model.put("type", "WordLevel");
        model.set("vocab", vocab);
        model.put("unk_token", "<unk>");
        Files.writeString(dir.resolve("tokenizer.json"), JSON.writeValueAsString(tok));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\"}");
    }

}
