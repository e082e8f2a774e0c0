package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Qwen3 and Phi-3 through the CLI on their fixtures (fixtures/tiny-qwen3, tiny-phi3): a small sweep runs and ranks
 * its trials, {@code inspect} shows the module tree with transformers' names and {@code all-linear} without the
 * head, {@code estimate} sizes a trial.
 */
class DecoderFamiliesCliTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {"qwen3|[q_proj, v_proj]", "phi3|[qkv_proj, gate_up_proj]"})
    void aSweepRuns(String family, String targets, @TempDir Path tmp) throws IOException {
        Path fixture = Cli.FIXTURES.resolve("tiny-" + family);
        Path spec = Files.writeString(tmp.resolve("sweep.yaml"), String.join("\n",
                "name: " + family,
                "model: " + fixture.resolve("model"),
                "task: CAUSAL_LM",
                "data: {train: " + fixture.resolve("data.jsonl") + ", eval: " + fixture.resolve("data.jsonl") + "}",
                "training: {learning_rate: 1.0e-2, max_steps: 4, batch_size: 4, eval_steps: 2, seed: 3}",
                "lora: {target_modules: " + targets + "}",
                "method: grid",
                "parameters:",
                "  r: {values: [2, 4]}",
                "resources: {devices: [cpu], max_failures: 0}", ""));
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2);
        assertEquals(0, r.code(), r.toString());
        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        assertEquals(3, board.size(), "header + 2 trials: " + board);
        assertEquals(2, board.stream().filter(l -> l.contains(",finished,")).count(), String.join("\n", board));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "qwen3|model.layers.0.self_attn.q_norm  Qwen3RMSNorm()|21 of 22 linear modules targeted"
                + " [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]",
        "phi3|model.layers.0.self_attn.qkv_proj  Linear(in_features=64, out_features=128, bias=False)"
                + "|8 of 9 linear modules targeted [o_proj, qkv_proj, gate_up_proj, down_proj]"})
    void inspectShowsTheTreeAndAllLinearLeavesTheHeadOut(String family, String node, String allLinear) {
        Path model = Cli.FIXTURES.resolve("tiny-" + family).resolve("model");
        Cli.Result tree = Cli.run("inspect", "--model", model);
        assertEquals(0, tree.code(), tree.toString());
        assertTrue(tree.out().contains(node), tree.out());
        Cli.Result targets = Cli.run("inspect", "--model", model, "--targets", "all-linear");
        assertEquals(0, targets.code(), targets.toString());
        assertTrue(targets.out().contains(allLinear), targets.out());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"qwen3", "phi3"})
    void estimateSizesATrial(String family, @TempDir Path tmp) throws IOException {
        Path fixture = Cli.FIXTURES.resolve("tiny-" + family);
        Path config = Files.writeString(tmp.resolve("c.yaml"), "model: " + fixture.resolve("model").toAbsolutePath()
                + "\ndata: {train: " + fixture.resolve("data.jsonl").toAbsolutePath() + ", max_length: 256}\n"
                + "training: {batch_size: 4}\nlora: {r: 8, lora_alpha: 16, target_modules: all-linear}\n");
        Cli.Result r = Cli.run("estimate", config, "--json");
        assertEquals(0, r.code(), r.toString());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertTrue(o.get("base_bytes").asLong() > 0 && o.get("per_trial_bytes").asLong() > 0, o.toString());
    }
}
