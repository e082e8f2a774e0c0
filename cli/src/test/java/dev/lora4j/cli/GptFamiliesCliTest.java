package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** GPT-2 and GPT-NeoX through the CLI: a sweep with PEFT's default targets, inspect, estimate and eval. */
class GptFamiliesCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path dir(String family) {
        return Cli.FIXTURES.resolve("tiny-" + family);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt-neox"})
    void aSweepWithoutTargetModulesRunsOnPeftsDefaults(String family, @TempDir Path tmp) throws IOException {
        Path d = dir(family);
        Path spec = Files.writeString(tmp.resolve("s.yaml"), String.join("\n", "name: " + family,
                "model: " + d.resolve("model"), "task: CAUSAL_LM",
                "data: {train: " + d.resolve("data.jsonl") + ", eval: " + d.resolve("data.jsonl") + "}",
                "training: {learning_rate: 1.0e-2, max_steps: 4, batch_size: 3, eval_steps: 4, seed: 3}",
                "lora: {lora_dropout: 0.1}", "method: grid", "parameters:", "  r: {values: [2, 4]}",
                "resources: {devices: [cpu], max_failures: 0}", ""));
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2);
        assertEquals(0, r.code(), r.toString());
        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        assertEquals(3, board.size(), board.toString());
        String target = family.equals("gpt2") ? "c_attn" : "query_key_value";
        try (var trials = Files.list(run.resolve("trials"))) {
            for (Path t : trials.toList()) {
                JsonNode config = JSON.readTree(t.resolve("adapter/adapter_config.json").toFile());
                assertEquals("[\"" + target + "\"]", config.get("target_modules").toString(), t.toString());
                assertEquals(family.equals("gpt2"), config.get("fan_in_fan_out").asBoolean(), t.toString());
            }
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "gpt2|transformer.h.0.attn.c_attn  Conv1D(nf=72, nx=24)|12 of 13 linear modules targeted [c_attn, c_proj,"
                + " c_fc]",
        "gpt-neox|gpt_neox.layers.0.attention.query_key_value  Linear(in_features=32, out_features=96, bias=True)"
                + "|8 of 9 linear modules targeted [query_key_value, dense, dense_h_to_4h, dense_4h_to_h]"})
    void inspectShowsTheTreeAndAllLinearLeavesTheHeadAlone(String family, String line, String allLinear) {
        Cli.Result tree = Cli.run("inspect", "--model", dir(family).resolve("model"));
        assertEquals(0, tree.code(), tree.toString());
        assertTrue(tree.out().contains(line), tree.out());
        Cli.Result targets = Cli.run("inspect", "--model", dir(family).resolve("model"), "--targets", "all-linear");
        assertEquals(0, targets.code(), targets.toString());
        assertTrue(targets.out().contains(allLinear), targets.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt-neox"})
    void estimateCountsTheBaseAndEvalMatchesTheReference(String family, @TempDir Path tmp) throws IOException {
        Path d = dir(family);
        Path config = Files.writeString(tmp.resolve("c.yaml"), "model: " + d.resolve("model").toAbsolutePath()
                + "\ndata: {train: " + d.resolve("data.jsonl").toAbsolutePath() + ", max_length: 64}\n"
                + "training: {batch_size: 4}\nlora: {r: 8, lora_alpha: 16}\n");
        Cli.Result r = Cli.run("estimate", config, "--json");
        assertEquals(0, r.code(), r.toString());
        JsonNode o = JSON.readTree(r.out());
        long params = 0;
        try (BaseModel base = HfModels.load(d.resolve("model"))) {
            for (var w : base.weights().values()) {
                params += w.getShape().size();
            }
        }
        assertEquals(4 * params, o.get("base_bytes").asLong());
        assertTrue(o.get("per_trial_bytes").asLong() > 0, o.toString());
        double expected = JSON.readTree(d.resolve("expected.json").toFile()).get("dora").asDouble();
        Cli.Result e = Cli.run("eval", "--model", d.resolve("model"), "--adapter", d.resolve("adapters/dora"),
                "--data", d.resolve("data.jsonl"), "--batch-size", 3, "--json");
        assertEquals(0, e.code(), e.toString());
        assertEquals(expected, JSON.readTree(e.out()).get("eval_loss").asDouble(), expected * 1e-6);
        // merged into the Conv1D / fused weights, saved as a model folder, evaluated as a plain model
        Path merged = tmp.resolve("merged");
        Cli.Result m = Cli.run("merge", "--model", d.resolve("model"), "--adapter", d.resolve("adapters/dora"),
                "--out", merged);
        assertEquals(0, m.code(), m.toString());
        Cli.Result me = Cli.run("eval", "--model", merged, "--data", d.resolve("data.jsonl"), "--json");
        assertEquals(0, me.code(), me.toString());
        assertEquals(expected, JSON.readTree(me.out()).get("eval_loss").asDouble(), expected * 1e-6);
    }
}
