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
import org.junit.jupiter.params.provider.ValueSource;

/** Gemma and Gemma 2 through the CLI: a sweep on PEFT's default targets, {@code inspect}'s tree, {@code estimate}. */
class GemmaCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path fixture(String family) {
        return Cli.FIXTURES.resolve("tiny-" + family);
    }

    private static Path config(Path dir, String family, String rest) throws IOException {
        Path f = fixture(family);
        return Files.writeString(dir.resolve(family + ".yaml"), String.join("\n",
                "name: " + family,
                "model: " + f.resolve("model").toAbsolutePath(),
                "task: CAUSAL_LM",
                "data: {train: " + f.resolve("data.jsonl").toAbsolutePath() + ", eval: "
                        + f.resolve("data.jsonl").toAbsolutePath() + "}",
                "training: {learning_rate: 1.0e-2, max_steps: 4, batch_size: 2, eval_steps: 2, seed: 3}",
                // no target_modules: PEFT's default for the family
                "lora: {r: 4, lora_alpha: 8}",
                rest, ""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void aSweepRuns(String family, @TempDir Path tmp) throws IOException {
        Path spec = config(tmp, family, "method: grid\nparameters:\n  r: {values: [2, 4]}\n"
                + "resources: {devices: [cpu], max_failures: 0}");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2);
        assertEquals(0, r.code(), r.toString());
        List<String> board = Files.readAllLines(run.resolve("leaderboard.csv"));
        assertEquals(3, board.size(), String.join("\n", board));
        assertEquals(2, board.stream().filter(l -> l.contains(",finished,")).count(), String.join("\n", board));
        try (var trials = Files.list(run.resolve("trials"))) {
            for (Path t : trials.toList()) {
                String config = Files.readString(t.resolve("adapter/adapter_config.json")).replaceAll("\\s", "");
                assertTrue(config.contains("\"target_modules\":[\"q_proj\",\"v_proj\"]"), config);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void inspectShowsTheTreeAndAllLinearLeavesTheHeadOut(String family) {
        Cli.Result tree = Cli.run("inspect", "--model", fixture(family).resolve("model"));
        assertEquals(0, tree.code(), tree.toString());
        // head_dim 16 x 4 heads: q_proj maps hidden 32 to 64
        assertTrue(tree.out().contains("model.layers.0.self_attn.q_proj  Linear(in_features=32, out_features=64,"
                + " bias=" + (family.equals("gemma2") ? "True" : "False") + ")"), tree.out());
        String cls = family.equals("gemma2") ? "Gemma2" : "Gemma";
        assertTrue(tree.out().contains(cls + "RMSNorm"), tree.out());
        if (family.equals("gemma2")) {
            assertTrue(tree.out().contains("model.layers.2.post_feedforward_layernorm"), tree.out());
        }
        int layers = family.equals("gemma2") ? 3 : 2;
        Cli.Result all = Cli.run("inspect", "--model", fixture(family).resolve("model"), "--targets", "all-linear");
        assertTrue(all.out().contains(7 * layers + " of " + (7 * layers + 1) + " linear modules targeted"), all.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void estimateCountsTheTiedWeightsOnce(String family, @TempDir Path tmp) throws IOException {
        Cli.Result r = Cli.run("estimate", config(tmp, family, ""), "--json");
        assertEquals(0, r.code(), r.toString());
        JsonNode o = JSON.readTree(r.out());
        // vocab 96 x hidden 32 (tied: once), per layer q and o 32 x 64, k and v 32 x 32, MLP 3 x 32 x 48, the norms
        // (two per layer, four in Gemma 2) and the final norm; Gemma 2's attention has biases
        boolean two = family.equals("gemma2");
        int layers = two ? 3 : 2;
        long perLayer = 2 * 32 * 64 + 2 * 32 * 32 + 3 * 32 * 48 + (two ? 4 : 2) * 32 + (two ? 64 + 32 + 32 + 32 : 0);
        long params = 96L * 32 + layers * perLayer + 32;
        assertEquals(4 * params, o.get("base_bytes").asLong(), o.toString());
        assertTrue(o.get("per_trial_bytes").asLong() > 0, o.toString());
    }
}
