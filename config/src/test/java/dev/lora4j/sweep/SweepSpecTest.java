package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.Fixtures;
import dev.lora4j.config.TargetModules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SweepSpecTest {
    @TempDir Path dir;

    private Path sweep(String rest) throws IOException {
        return TinySweeps.write(dir, rest);
    }

    private SweepSpec read(String rest) throws IOException {
        return TinySweeps.read(dir, rest);
    }

    private List<String> errors(String rest) throws IOException {
        return TinySweeps.errors(dir, rest);
    }

    private static List<String> names(SweepSpec s) {
        List<String> out = new ArrayList<>();
        s.trials().forEach(t -> out.add(t.name()));
        return out;
    }

    private static final String QV_GRID = "lora: {target_modules: [q_proj, v_proj]}\nmethod: grid\nparameters:\n"
            + "  r: {values: [4, 8, 16]}\n  lora_alpha: {ratio_to: r, values: [1, 2]}\n";

    @Test
    void gridExpandsInOrderWithTies() throws IOException {
        SweepSpec s = read(QV_GRID);
        assertEquals(6, s.size());
        assertEquals(List.of("r4-alpha4", "r4-alpha8", "r8-alpha8", "r8-alpha16", "r16-alpha16", "r16-alpha32"),
                names(s));
        TrialSpec t = s.trials().get(3);
        assertEquals(3, t.index());
        assertEquals(List.of("lora.r", "lora.lora_alpha"), new ArrayList<>(t.parameters().keySet()));
        assertEquals(8, t.lora().r());
        assertEquals(16.0, t.lora().loraAlpha());
        assertEquals(TargetModules.Names.of("q_proj", "v_proj"), t.lora().targetModules().orElseThrow());
        assertTrue(t.isValid());
        assertEquals(Fixtures.dir().resolve("tiny-llama-s2/model"), t.model().path());
        assertEquals("s: 6 trials (grid over r, lora_alpha), metric eval_loss minimize", s.summary());
    }

    @Test
    void idIsAStableHashOfTheValues() throws IOException {
        TrialSpec t = read(QV_GRID).trials().get(3);
        // sha256('{"lora.lora_alpha":16,"lora.r":8}')[:10]
        assertEquals("0e3fd2b2e2", t.id());
        SweepSpec reordered = read("method: grid\nparameters:\n  lora.lora_alpha: {values: [16.0]}\n"
                + "  lora.r: {values: [8]}\n");
        assertEquals("0e3fd2b2e2", reordered.trials().get(0).id());
        // an app's own trial with the same values is the same trial, whatever its map's order
        TrialSpec own = reordered.trials().with(java.util.Map.of("lora_alpha",
                com.fasterxml.jackson.databind.node.IntNode.valueOf(16), "r",
                com.fasterxml.jackson.databind.node.IntNode.valueOf(8)), 0);
        assertEquals("0e3fd2b2e2", own.id());
        assertEquals("r8-alpha16", own.name());
        assertEquals(16, own.lora().loraAlpha(), 0);
        ConfigException bad = assertThrows(ConfigException.class, () -> reordered.trials().with(java.util.Map.of(
                "rank", com.fasterxml.jackson.databind.node.IntNode.valueOf(8)), 1));
        assertTrue(bad.getMessage().contains("parameters.rank: unknown parameter \"rank\""), bad.getMessage());
        assertEquals(6, read(QV_GRID).trials().stream().map(TrialSpec::id).distinct().count());
    }

    @Test
    void exampleSweepsAreValid() {
        Path examples = Fixtures.dir().getParent().resolve("examples/sweeps");
        assertEquals(6, SweepSpec.read(examples.resolve("llama-qv-grid.yaml")).value().size());
        SweepSpec random = SweepSpec.read(examples.resolve("llama-random.yaml")).value();
        assertEquals(12, random.size());
        assertEquals(new SweepMethod.Random(12, 7), random.method());
        assertEquals(new Asha(2, 3, null), random.earlyTerminate().orElseThrow());
        SweepSpec bayes = SweepSpec.read(examples.resolve("llama-bayes.yaml")).value();
        assertEquals(new SweepMethod.Bayes(16, 7, 5), bayes.method());
        assertEquals("llama-bayes: 16 trials (bayes over learning_rate, r, lora_alpha, lora_dropout, seed 7, 5 "
                + "start-up), metric eval_loss minimize", bayes.summary());
        SweepSpec rsDora = SweepSpec.read(examples.resolve("llama-rslora-dora.yaml")).value();
        assertEquals(8, rsDora.size());
        assertEquals("use_rslora=true-use_dora=true-r32", rsDora.trials().get(7).name());
        assertTrue(rsDora.trials().get(7).lora().useDora());
    }

    @Test
    void randomIsDeterministicPerSeedAndResumable() throws IOException {
        String body = "method: {type: random, trials: 50, seed: SEED}\nparameters:\n"
                + "  learning_rate: {min: 1.0e-5, max: 1.0e-2, distribution: log_uniform_values}\n"
                + "  r: {values: [4, 8, 16]}\n  lora_dropout: {min: 0.0, max: 0.2}\n"
                + "  warmup_steps: {min: 0, max: 3}\n  lora_alpha: {ratio_to: r, values: [1, 2]}\n";
        SweepSpec a = read(body.replace("SEED", "7"));
        SweepSpec b = read(body.replace("SEED", "7"));
        SweepSpec c = read(body.replace("SEED", "8"));
        List<Map<String, JsonNode>> pa = new ArrayList<>();
        a.trials().forEach(t -> pa.add(t.parameters()));
        List<Map<String, JsonNode>> pb = b.trials().stream().map(TrialSpec::parameters).toList();
        List<Map<String, JsonNode>> pc = c.trials().stream().map(TrialSpec::parameters).toList();
        assertEquals(50, pa.size());
        assertEquals(pa, pb);
        assertNotEquals(pa, pc);
        Iterator<TrialSpec> resumed = a.trials().iterator(45);
        for (int i = 45; i < 50; i++) {
            TrialSpec t = resumed.next();
            assertEquals(i, t.index());
            assertEquals(pa.get(i), t.parameters());
        }
        assertTrue(!resumed.hasNext());
        for (Map<String, JsonNode> p : pa) {
            double lr = p.get("training.learning_rate").doubleValue();
            assertTrue(lr >= 1e-5 && lr <= 1e-2, "lr " + lr);
            int r = p.get("lora.r").intValue();
            assertTrue(List.of(4, 8, 16).contains(r));
            double alpha = p.get("lora.lora_alpha").doubleValue();
            assertTrue(alpha == r || alpha == 2 * r);
            assertTrue(p.get("training.warmup_steps").isIntegralNumber());
            long w = p.get("training.warmup_steps").longValue();
            assertTrue(w >= 0 && w <= 3);
        }
        assertEquals(4, pa.stream().map(p -> p.get("training.warmup_steps").longValue()).distinct().count(),
                "int_uniform reaches both ends");
        assertTrue(pa.stream().map(p -> p.get("training.learning_rate").doubleValue()).distinct().count() == 50);
    }

    @Test
    void randomDrawsAreTheSameOnEveryJvm() throws IOException {
        SweepSpec s = read("method: {type: random, trials: 3, seed: 42}\nparameters:\n  r: {values: [4, 8, 16, 32]}\n"
                + "  learning_rate: {min: 1.0e-4, max: 1.0e-3}\n");
        // SplitMix64 is spelled out in the code, so these draws are fixed; a change here breaks resumed sweeps
        assertEquals(List.of("r4-lr1.47e-4", "r16-lr3.05e-4", "r32-lr1.28e-4"), names(s));
    }

    @Test
    void millionPointGridExpandsLazily() throws IOException {
        StringBuilder p = new StringBuilder("method: grid\nparameters:\n");
        for (String key : List.of("r", "lora_alpha", "learning_rate", "weight_decay", "seed", "warmup_steps")) {
            String values = key.equals("learning_rate") || key.equals("weight_decay")
                    ? "[0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01]"
                    : key.equals("seed") || key.equals("warmup_steps") ? "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
                    : "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]";
            p.append("  ").append(key).append(": {values: ").append(values).append("}\n");
        }
        SweepSpec s = read(p.toString());
        assertEquals(1_000_000, s.size());
        assertEquals(List.of("r1-alpha1-lr1e-3-wd1e-3-seed=0-warmup_steps=0",
                "r1-alpha1-lr1e-3-wd1e-3-seed=0-warmup_steps=1",
                "r1-alpha1-lr1e-3-wd1e-3-seed=0-warmup_steps=2"),
                s.trials().stream().limit(3).map(TrialSpec::name).toList());
        TrialSpec last = s.trials().get(999_999);
        assertEquals("r10-alpha10-lr0.01-wd0.01-seed=9-warmup_steps=9", last.name());
        assertEquals(10, last.lora().r());
        assertEquals(9, last.training().seed());
        assertThrows(IndexOutOfBoundsException.class, () -> s.trials().get(1_000_000));
    }

    @Test
    void gridTooLargeToExistStillHasASize() throws IOException {
        StringBuilder p = new StringBuilder("method: grid\nparameters:\n");
        List<String> keys = List.of("r", "lora_alpha", "learning_rate", "weight_decay", "seed", "warmup_steps",
                "adam_beta1", "adam_beta2", "batch_size", "gradient_accumulation_steps", "max_grad_norm", "lora_dropout");
        for (String key : keys) {
            p.append("  ").append(key).append(": {values: [");
            for (int i = 1; i <= 20; i++) {
                p.append(i == 1 ? "" : ", ").append(key.startsWith("adam") || key.equals("lora_dropout")
                        ? String.valueOf(i / 100.0) : String.valueOf(i));
            }
            p.append("]}\n");
        }
        SweepSpec s = read(p.toString());
        assertEquals((long) Math.pow(20, 12), s.size());
        assertEquals(20, s.trials().get(s.size() - 1).lora().r());
    }

    @Test
    void invalidGridPointsAreReportedBeforeAnythingRuns() throws IOException {
        assertEquals(List.of("parameters.r.values[2]: r must be >= 1, got 0",
                "parameters.lora_alpha.values[1]: lora_alpha must be > 0, got -4 (r 4 x -1)"),
                errors("method: grid\nparameters:\n  r: {values: [4, 8, 0]}\n"
                        + "  lora_alpha: {ratio_to: r, values: [2, -1]}\n"));
        assertEquals(List.of("parameters.learning_rate.values[1]: learning_rate must be > 0, got 0",
                "parameters.lora_dropout.values[0]: lora_dropout must be >= 0 and < 1, got 1"),
                errors("method: grid\nparameters:\n  learning_rate: {values: [1.0e-4, 0]}\n"
                        + "  lora_dropout: {values: [1.0]}\n"));
        assertEquals(List.of("parameters.r.values[2]: duplicate value 4: each point would run twice",
                "parameters.r.values[1]: r must be an integer, got \"eight\""),
                errors("method: grid\nparameters:\n  r: {values: [4, eight, 4]}\n"));
    }

    @Test
    void aSweepWithManyMistakesReportsThemAllAtOnce() throws IOException {
        assertEquals(List.of(
                "paramters: unknown key; did you mean 'parameters'?",
                "resources.devices[1]: a device is \"cpu\" or \"gpu:N\" (N = 0, 1, ...), got \"gpu0\"",
                "training.learning_rate: learning_rate must be > 0, got -1",
                "lora.r: r must be >= 1, got 0",
                "metric.goal: goal must be one of \"minimize\", \"maximize\", got \"maximise\"; did you mean "
                        + "'maximize'?",
                "early_terminate.reduction_factor: reduction_factor must be >= 2, got 1",
                "parameters.lora_alpha.values[2]: lora_alpha must be > 0, got -4 (r 4 x -1)"),
                errors("training: {learning_rate: -1, eval_steps: 5}\nlora: {r: 0}\nmethod: grid\n"
                        + "metric: {name: eval_loss, goal: maximise}\nparamters: {}\nparameters:\n"
                        + "  r: {values: [4, 8]}\n  lora_alpha: {ratio_to: r, values: [1, 2, -1]}\n"
                        + "resources: {devices: [cpu, gpu0]}\nearly_terminate: {type: asha, reduction_factor: 1}\n"));
    }

    @Test
    void parameterNamesResolveAgainstLoraThenTraining() throws IOException {
        SweepSpec s = read("method: grid\nparameters:\n  r: {value: 4}\n  training.learning_rate: {value: 1.0e-3}\n"
                + "  seed: {values: [1, 2]}\n  lora.rank_pattern.down_proj: {values: [2]}\n"
                + "  target_modules: {values: [[q_proj, v_proj], all-linear]}\n");
        List<String> fields = s.parameters().stream().map(p -> p.field().canonical()).toList();
        assertEquals(List.of("lora.r", "training.learning_rate", "training.seed", "lora.rank_pattern.down_proj",
                "lora.target_modules"), fields);
        TrialSpec t = s.trials().get(3);
        assertEquals(Map.of("down_proj", 2), t.lora().rankPattern());
        assertEquals(new TargetModules.AllLinear("all-linear"), t.lora().targetModules().orElseThrow());
        assertEquals(2, t.training().seed());
        assertEquals(1e-3, t.training().learningRate());
        assertEquals("seed=2-target_modules=all-linear", t.name());
        assertEquals("seed=1-target_modules=q_proj+v_proj", s.trials().get(0).name());
        assertEquals(List.of(
                "parameters.lerning_rate: unknown parameter \"lerning_rate\": name a field of lora or training (r, "
                        + "lora_alpha, learning_rate, lora.r, training.seed, ...); did you mean 'learning_rate'?",
                "parameters.lora.alfa: unknown lora field \"alfa\" in \"lora.alfa\"",
                "parameters.training.seed.x: training.seed has no sub-fields; only rank_pattern, alpha_pattern and "
                        + "*_config mappings do",
                "parameters.lora.r: lora.r is already set by parameters.r",
                "parameters.task_type: task_type cannot be swept: set task",
                "parameters.lora_dropout: must be a mapping such as {values: [4, 8, 16]}, {value: 8}, "
                        + "{min: 1e-5, max: 1e-3} or {ratio_to: r, values: [1, 2]}, got [0.1]"),
                errors("method: grid\nparameters:\n  r: {values: [4]}\n  lerning_rate: {values: [1]}\n"
                        + "  lora.alfa: {values: [1]}\n  training.seed.x: {values: [1]}\n  lora.r: {values: [8]}\n"
                        + "  task_type: {values: [CAUSAL_LM]}\n  lora_dropout: [0.1]\n"));
    }

    @Test
    void methodIsChecked() throws IOException {
        String params = "parameters:\n  r: {values: [4]}\n";
        assertEquals(List.of("method: missing: grid, or {type: random, trials: N, seed: S}, or {type: bayes, trials: "
                + "N}"), errors(params));
        assertEquals(List.of("method: random needs a trial count: method: {type: random, trials: 20, seed: 0}, or "
                + "run_cap: 20"), errors("method: random\n" + params));
        assertEquals(List.of("method: bayes needs a trial count: method: {type: bayes, trials: 20, seed: 0}, or "
                + "run_cap: 20"), errors("method: bayes\n" + params));
        assertEquals(List.of("method: method must be \"grid\", \"random\" or \"bayes\", got \"optuna\""),
                errors("method: optuna\n" + params));
        assertEquals(List.of("method.trials: trials must be >= 1, got 0"),
                errors("method: {type: random, trials: 0}\n" + params));
        assertEquals(List.of("method.seed: seed applies to random and bayes sweeps; a grid runs every point once"),
                errors("method: {type: grid, seed: 3}\n" + params));
        assertEquals(List.of("parameters.learning_rate: uniform draws values at random: use method random or bayes, "
                + "or give values (or int_uniform / q_uniform, which a grid enumerates)"),
                errors("method: grid\nparameters:\n  learning_rate: {min: 1.0e-4, max: 1.0e-3}\n"));
        assertEquals(List.of("parameters.r.distribution: r is an integer: use int_uniform, a q_ distribution with a "
                + "whole q (q: 1), or list values",
                "parameters.learning_rate.min: log_uniform_values needs min > 0, got 0"),
                errors("method: {type: random, trials: 3}\nparameters:\n  r: {min: 4, max: 16, distribution: uniform}\n"
                        + "  learning_rate: {min: 0, max: 1.0e-3, distribution: log_uniform_values}\n"));
    }

    @Test
    void metricAndEarlyTerminationNeedWhatTheyMeasure() throws IOException {
        Path f = dir.resolve("noeval.yaml");
        Files.writeString(f, "model: builtin:all-minilm-l6-v2\ndata: {train: "
                + Fixtures.dir().resolve("tiny-llama-s2/data.jsonl") + "}\nmethod: grid\nparameters: {r: {values: [4]}}\nearly_terminate: {type: hyperband, min_iter: 2}\n");
        ConfigException e = assertThrows(ConfigException.class, () -> SweepSpec.read(f));
        assertEquals(List.of(
                "metric.name: eval_loss is measured on data.eval, which is not set: set data.eval, or use a train_ "
                        + "metric such as train_loss",
                "early_terminate: hyperband compares trials at evaluations, and without training.eval_steps a trial "
                        + "is evaluated only at its end: set training.eval_steps"),
                e.errors().stream().map(ConfigError::toString).toList());
    }

    @Test
    void combinationsThatOnlyFailTogetherAreReported() throws IOException {
        assertEquals(List.of("parameters: trial 1 (lora_bias=true): lora.lora_bias: The argument "
                + "lora_bias=True is not supported for DoRA, please pass use_dora=False"),
                errors("method: grid\nparameters:\n  use_dora: {values: [true]}\n  lora_bias: {values: [false, true]}\n"));
    }

    @Test
    void tiesIntoIntegerFieldsRound() throws IOException {
        SweepSpec s = read("lora: {lora_alpha: 7}\nmethod: grid\nparameters:\n  r: {ratio_to: lora_alpha, value: 0.5}\n");
        assertEquals(4, s.trials().get(0).lora().r());
        assertEquals(List.of("parameters.r.ratio_to: a field cannot be tied to itself"),
                errors("method: grid\nparameters:\n  r: {ratio_to: r, value: 2}\n"));
    }

    @Test
    void trialNamesAreFilesystemSafe() throws IOException {
        SweepSpec s = read("method: grid\nparameters:\n  target_modules: {values: [\".*/q proj\"]}\n"
                + "  lora_alpha: {values: [1, 2]}\n");
        assertEquals("alpha1", s.trials().get(0).name());
        SweepSpec t = read("method: grid\nparameters:\n  target_modules: {values: [\".*/q proj\", \"v\"]}\n");
        assertEquals(List.of("target_modules=.__q_proj", "target_modules=v"), names(t));
        assertTrue(names(t).stream().allMatch(n -> n.matches("[A-Za-z0-9._=+-]+")),
                names(t).stream().collect(Collectors.joining(",")));
    }
}
