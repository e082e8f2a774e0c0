package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect, eval, merge and train: contracts other tools rely on (JSON keys, exit codes, messages). */
class EngineCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path S2 = Cli.FIXTURES.resolve("tiny-llama-s2");

    private static double expected(String adapter) throws IOException {
        return JSON.readTree(S2.resolve("expected.json").toFile()).get(adapter).asDouble();
    }

    @Test
    void evalJsonMatchesTheReferenceLoss() throws IOException {
        Cli.Result r = Cli.run("eval", "--model", S2.resolve("model"), "--adapter", S2.resolve("adapters/dora"),
                "--data", S2.resolve("data.jsonl"), "--batch-size", 3, "--json");
        assertEquals(0, r.code(), r.toString());
        JsonNode o = JSON.readTree(r.out());
        assertEquals(expected("dora"), o.get("eval_loss").asDouble(), expected("dora") * 1e-5);
        assertEquals(271, o.get("eval_tokens").asLong());
        assertTrue(o.has("eval_perplexity"));
    }

    @Test
    void mergedFolderEvaluatesLikeTheAdapter(@TempDir Path tmp) throws IOException {
        Path merged = tmp.resolve("merged");
        Cli.Result m = Cli.run("merge", "--model", S2.resolve("model"), "--adapter", S2.resolve("adapters/patterns"),
                "--out", merged);
        assertEquals(0, m.code(), m.toString());
        Cli.Result r = Cli.run("eval", "--model", merged, "--data", S2.resolve("data.jsonl"), "--json");
        assertEquals(0, r.code(), r.toString());
        assertEquals(expected("patterns"), JSON.readTree(r.out()).get("eval_loss").asDouble(),
                expected("patterns") * 1e-5);
    }

    @Test
    void inspectShowsWhatATargetSpecSelects() {
        Cli.Result r = Cli.run("inspect", "--model", S2.resolve("model"), "--targets", "all-linear");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("14 of 15 linear modules targeted [q_proj, k_proj, v_proj, o_proj, gate_proj,"
                + " up_proj, down_proj]"), r.out());
        Cli.Result tree = Cli.run("inspect", "--model", S2.resolve("model"));
        assertTrue(tree.out().contains("model.layers.0.self_attn.q_proj  Linear(in_features=64, out_features=64,"
                + " bias=False)"), tree.out());
        Cli.Result adapter = Cli.run("inspect", "--adapter", Cli.FIXTURES.resolve(
                "peft-adapters/bk7195-opencalm1b-qkv-r1.safetensors"));
        assertTrue(adapter.out().contains("24 adapted modules [query_key_value], ranks [1]"), adapter.out());
        assertTrue(adapter.out().contains("F16"), adapter.out());
    }

    @Test
    void badInputExitsTwoWithOneLine(@TempDir Path tmp) {
        Cli.Result missing = Cli.run("eval", "--model", tmp.resolve("nope"), "--data", S2.resolve("data.jsonl"));
        assertEquals(2, missing.code());
        assertEquals(1, missing.err().lines().count(), missing.err());
        assertTrue(missing.err().startsWith("lora4j: " + tmp.resolve("nope") + ": no config.json"), missing.err());
        Cli.Result nothing = Cli.run("inspect", "--model", S2.resolve("model"), "--targets", "nope");
        assertEquals(2, nothing.code());
        assertTrue(nothing.err().contains("Target modules {'nope'} not found in the base model"), nothing.err());
        Cli.Result builtin = Cli.run("inspect", "--model", "builtin:nope");
        assertEquals(2, builtin.code());
        assertTrue(builtin.err().contains("unknown builtin model 'builtin:nope'"), builtin.err());
    }

    @Test
    void trainWritesItsFilesAndTheAdapterEvaluatesToTheReportedLoss(@TempDir Path tmp) throws IOException {
        Path config = tmp.resolve("train.yaml");
        Files.writeString(config, String.join("\n", "name: t", "model: " + S2.resolve("model"), "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + ", eval: " + S2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 5.0e-3, max_steps: 8, batch_size: 4, eval_steps: 4, save_steps: 4,"
                        + " save_total_limit: 1}",
                "lora: {target_modules: [q_proj, v_proj], r: 4, lora_alpha: 8}", ""));
        Path out = tmp.resolve("out");
        Cli.Result r = Cli.run("train", config, "--out", out, "--json");
        assertEquals(0, r.code(), r.toString());
        JsonNode metrics = JSON.readTree(r.out());
        for (String k : new String[] {"train_loss", "eval_loss", "eval_perplexity", "steps", "tokens_per_s"}) {
            assertTrue(metrics.has(k), k + " in " + metrics);
        }
        assertEquals(8, metrics.get("steps").asInt());
        for (String f : new String[] {"adapter/adapter_config.json", "adapter/adapter_model.safetensors",
            "progress.csv", "result.json"}) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        assertTrue(Files.isDirectory(out.resolve("checkpoints/step-4")), "the one checkpoint kept");
        Cli.Result e = Cli.run("eval", "--model", S2.resolve("model"), "--adapter", out.resolve("adapter"), "--data",
                S2.resolve("data.jsonl"), "--json");
        assertEquals(metrics.get("eval_loss").asDouble(), JSON.readTree(e.out()).get("eval_loss").asDouble(), 1e-6);
        Cli.Result again = Cli.run("train", config, "--out", out);
        assertEquals(2, again.code(), "an existing run is not overwritten: " + again);
        assertTrue(again.err().contains("pass --resume"), again.err());
    }
}
