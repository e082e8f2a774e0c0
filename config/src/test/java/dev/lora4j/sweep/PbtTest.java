package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import dev.lora4j.config.ConfigException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Population-based training: Ray Tune's quantiles and explore rules, seeded, and what validate refuses. */
class PbtTest {
    private static final String BASE = "training: {max_steps: 40, eval_steps: 10, save_steps: 10}\n"
            + "method: {type: random, trials: 4, seed: 1}\n"
            + "parameters:\n  learning_rate: {values: [1.0e-3, 1.0e-4]}\n";

    private static Pbt pbt(double resample) {
        return new Pbt(10, 0.25, resample, Map.of("training.learning_rate",
                new Domain.Range(1e-5, 1e-2, Distribution.LOG_UNIFORM_VALUES)), 7);
    }

    private static Pbt withList(double resample) {
        Map<String, Domain> m = new LinkedHashMap<>();
        m.put("training.weight_decay", new Domain.Values(List.of(DoubleNode.valueOf(0.0), DoubleNode.valueOf(0.01),
                DoubleNode.valueOf(0.1))));
        return new Pbt(10, 0.25, resample, m, 7);
    }

    private static Map<String, Double> badness(double... values) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            m.put("t" + i, values[i]);
        }
        return m;
    }

    @Test
    void quantilesAreRaysCeilCappedAtHalf() {
        Pbt q25 = pbt(0.25);
        // 8 trials, 0.25: ceil(2) = 2 each side; worst first
        Pbt.Quantiles q = q25.quantiles(badness(5, 1, 7, 3, 2, 8, 4, 6));
        assertEquals(List.of("t5", "t2"), q.lower());
        assertEquals(List.of("t4", "t1"), q.upper());
        // 5 trials: ceil(1.25) = 2 <= 2.5
        assertEquals(2, q25.quantiles(badness(1, 2, 3, 4, 5)).lower().size());
        // one trial: nothing to compare
        assertEquals(List.of(), q25.quantiles(badness(1)).lower());
        // 3 trials at 0.5: ceil(1.5) = 2 > 1.5, so floor(1.5) = 1
        Pbt half = new Pbt(10, 0.5, 0.25, Map.of(), 0);
        assertEquals(List.of("t2"), half.quantiles(badness(1, 2, 3)).lower());
        assertEquals(List.of("t0"), half.quantiles(badness(1, 2, 3)).upper());
        // ties keep the order trials reached the step (Python's stable sort)
        assertEquals(List.of("t0"), half.quantiles(badness(2, 2)).lower());
        assertEquals(List.of("t1"), half.quantiles(badness(2, 2)).upper());
        // quantile_fraction 0: no exploitation at all
        assertEquals(List.of(), new Pbt(10, 0, 0.25, Map.of(), 0).quantiles(badness(1, 2, 3, 4)).lower());
    }

    @Test
    void exploreScalesByRaysFactorsOrResamplesWithTheSeededDraws() {
        Map<String, JsonNode> config = Map.of("training.learning_rate", DoubleNode.valueOf(1e-3),
                "lora.r", DoubleNode.valueOf(8));
        Pbt p = pbt(0.25);
        Set<Double> seen = new HashSet<>();
        int up = 0;
        for (long index = 0; index < 200; index++) {
            SplitMix64 rng = p.rng(index, 20);
            double u1 = rng.nextDouble();
            double u2 = rng.nextDouble();
            double expected = u1 < 0.25 ? Distribution.LOG_UNIFORM_VALUES.draw(1e-5, 1e-2, 1, u2)
                    : u2 > 0.5 ? 1e-3 * 1.2 : 1e-3 * 0.8;
            Map<String, JsonNode> out = p.explore(config, index, 20);
            assertEquals(expected, out.get("training.learning_rate").doubleValue(), 0.0, "index " + index);
            assertEquals(8.0, out.get("lora.r").doubleValue(), "fields not mutated are kept");
            assertEquals(out, p.explore(config, index, 20), "the same draws for the same trial and step");
            seen.add(out.get("training.learning_rate").doubleValue());
            up += out.get("training.learning_rate").doubleValue() == 1e-3 * 1.2 ? 1 : 0;
        }
        // 200 * 0.75 * 0.5 = 75 expected scaled up
        assertTrue(up > 50 && up < 100, "scaled up " + up + " times of 200");
        assertTrue(seen.contains(1e-3 * 1.2) && seen.contains(1e-3 * 0.8) && seen.size() > 10, seen.toString());
        // exact values of one trial's draws, so a change of generator or rule shows
        StringBuilder moves = new StringBuilder();
        for (long index = 0; index < 12; index++) {
            double lr = pbt(0).explore(config, index, 10).get("training.learning_rate").doubleValue();
            moves.append(lr == 1e-3 * 1.2 ? '+' : lr == 1e-3 * 0.8 ? '-' : '?');
        }
        assertEquals("+-++++++-+++", moves.toString());
        double resampled = pbt(1).explore(config, 0, 10).get("training.learning_rate").doubleValue();
        assertTrue(resampled >= 1e-5 && resampled <= 1e-2 && resampled != 1e-3, "resampled " + resampled);
    }

    @Test
    void exploreMovesAListValueToANeighbourClampedAtTheEnds() {
        Pbt p = withList(0);
        Set<Double> fromMiddle = new HashSet<>();
        Set<Double> fromLow = new HashSet<>();
        for (long index = 0; index < 100; index++) {
            fromMiddle.add(p.explore(Map.of("training.weight_decay", DoubleNode.valueOf(0.01)), index, 10)
                    .get("training.weight_decay").doubleValue());
            fromLow.add(p.explore(Map.of("training.weight_decay", DoubleNode.valueOf(0)), index, 10)
                    .get("training.weight_decay").doubleValue());
        }
        assertEquals(Set.of(0.0, 0.1), fromMiddle);
        assertEquals(Set.of(0.0, 0.01), fromLow);
        // a value not in the list is always resampled from it
        double x = p.explore(Map.of("training.weight_decay", DoubleNode.valueOf(0.5)), 3, 10)
                .get("training.weight_decay").doubleValue();
        assertTrue(Set.of(0.0, 0.01, 0.1).contains(x));
        // the draws: u1 (resample?), then u2 > 0.5 moves down
        SplitMix64 rng = p.rng(4, 30);
        rng.nextDouble();
        double expected = rng.nextDouble() > 0.5 ? 0.0 : 0.1;
        assertEquals(expected, p.explore(Map.of("training.weight_decay", DoubleNode.valueOf(0.01)), 4, 30)
                .get("training.weight_decay").doubleValue());
    }

    @Test
    void onlyTheLowerQuantileExploitsATopTrialsExploredConfig() {
        Pbt p = pbt(0);
        Map<String, Double> scores = badness(0.9, 0.1, 0.5, 0.2);
        Map<String, Map<String, JsonNode>> configs = new LinkedHashMap<>();
        for (int i = 0; i < 4; i++) {
            configs.put("t" + i, Map.of("training.learning_rate", DoubleNode.valueOf(1e-3 * (i + 1))));
        }
        assertNull(p.decide("t1", 1, 10, scores, configs));
        assertNull(p.decide("t2", 2, 10, scores, configs));
        Pbt.Exploit e = p.decide("t0", 0, 10, scores, configs);
        assertNotNull(e);
        assertEquals("t1", e.parent(), "the only upper trial of four at 0.25");
        assertEquals(10, e.step());
        double lr = e.config().get("training.learning_rate").doubleValue();
        assertTrue(lr == 2e-3 * 1.2 || lr == 2e-3 * 0.8, "the parent's learning rate perturbed: " + lr);
    }

    @Test
    void theExampleIsValid() {
        SweepSpec s = SweepSpec.read(dev.lora4j.config.Fixtures.dir().getParent()
                .resolve("examples/sweeps/llama-pbt.yaml")).value();
        Pbt p = (Pbt) s.earlyTerminate().orElseThrow();
        assertEquals(new Pbt(20, 0.25, 0.25, p.mutations(), 0), p);
        assertEquals(List.of("training.learning_rate", "training.weight_decay"), List.copyOf(p.mutations().keySet()));
    }

    @Test
    void validateRefusesMutationsThatChangeTheAdaptersShape(@TempDir Path dir) throws Exception {
        List<String> errors = TinySweeps.errors(dir, BASE + "scheduler: {type: pbt, perturbation_interval: 10, "
                + "hyperparam_mutations: {r: {values: [4, 8]}, learning_rate: [1.0e-4, 1.0e-3]}}\n");
        assertEquals(List.of("scheduler.hyperparam_mutations.r: pbt cannot change lora.r while a trial trains (a "
                + "copied checkpoint must fit the adapter's shape and scale); it mutates learning_rate, "
                + "weight_decay, lora_dropout"), errors);
        Path f = TinySweeps.write(dir, BASE + "scheduler: {type: pbt, perturbation_interval: 10, "
                + "hyperparam_mutations: {lora_alpha: [8, 16]}}\n");
        ConfigException e = assertThrows(ConfigException.class, () -> SweepSpec.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("lora.lora_alpha"),
                e.getMessage());
    }

    @Test
    void validateExplainsWrongCombinations(@TempDir Path dir) throws Exception {
        assertEquals(List.of("scheduler.perturbation_interval: perturbation_interval (15 steps) must be a multiple "
                + "of training.eval_steps (10): trials are compared at evaluations",
                "scheduler.perturbation_interval: perturbation_interval (15 steps) must be a multiple of "
                + "training.save_steps (10): a trial copies another's checkpoint of that step"),
                TinySweeps.errors(dir, BASE + "scheduler: {type: pbt, perturbation_interval: 15, "
                        + "hyperparam_mutations: {learning_rate: [1.0e-4]}}\n"));
        assertEquals(List.of("scheduler.quantile_fraction: quantile_fraction must be between 0 and 0.5, got 0.75"),
                TinySweeps.errors(dir, BASE + "scheduler: {type: pbt, perturbation_interval: 10, quantile_fraction:"
                        + " 0.75, hyperparam_mutations: {learning_rate: [1.0e-4]}}\n"));
        assertEquals(List.of("scheduler: a sweep has one scheduler: pbt or early_terminate (asha), not both"),
                TinySweeps.errors(dir, BASE + "early_terminate: {type: asha}\nscheduler: {type: pbt, "
                        + "perturbation_interval: 10, hyperparam_mutations: {learning_rate: [1.0e-4]}}\n"));
        // an error elsewhere in the file does not hide what is wrong with the scheduler
        List<String> both = TinySweeps.errors(dir, BASE.replace("seed: 1}", "seed: 1, color: red}")
                + "early_terminate: {type: asha}\nscheduler: {type: pbt, perturbation_interval: 10, "
                + "hyperparam_mutations: {learning_rate: [1.0e-4]}}\n");
        assertEquals(2, both.size(), both.toString());
        assertTrue(both.get(0).startsWith("method.color: ") && both.get(1).equals("scheduler: a sweep has one "
                + "scheduler: pbt or early_terminate (asha), not both"), both.toString());
        assertTrue(TinySweeps.errors(dir, BASE.replace("save_steps: 10", "save_steps: 10, save_total_limit: 2")
                + "scheduler: {type: pbt, perturbation_interval: 10, hyperparam_mutations: {weight_decay: [0.0]}}\n")
                .get(0).startsWith("training.save_total_limit: pbt copies"));
    }

    @Test
    void aPbtSweepReadsRaysKeysWithRaysDefaults(@TempDir Path dir) throws Exception {
        SweepSpec s = TinySweeps.read(dir, BASE + "scheduler:\n  type: pbt\n  perturbation_interval: 20\n"
                + "  hyperparam_mutations:\n    learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: "
                + "1.0e-2}\n    weight_decay: [0.0, 0.01]\n    lora_dropout: {values: [0.0, 0.1]}\n");
        Pbt p = (Pbt) s.earlyTerminate().orElseThrow();
        assertEquals(20, p.perturbationInterval());
        assertEquals(0.25, p.quantileFraction());
        assertEquals(0.25, p.resampleProbability());
        assertEquals(List.of("training.learning_rate", "training.weight_decay", "lora.lora_dropout"),
                List.copyOf(p.mutations().keySet()));
        TrialSpec t = s.trials().get(0);
        Map<String, JsonNode> initial = p.initialConfig(t);
        assertEquals(0.0, initial.get("training.weight_decay").doubleValue());
        TrialSpec moved = s.trials().reconfigured(t, Map.of("training.learning_rate", DoubleNode.valueOf(5e-4),
                "training.weight_decay", DoubleNode.valueOf(0.01)));
        assertEquals(t.id(), moved.id());
        assertEquals(5e-4, moved.training().learningRate());
        assertEquals(0.01, moved.training().weightDecay());
        // Ray's x1.2 is not clamped: a dropout pushed past its range is refused, and PBT then does not copy
        assertThrows(ConfigException.class, () -> s.trials().reconfigured(t, Map.of("lora.lora_dropout",
                DoubleNode.valueOf(1.2))));
        assertTrue(s.summary().endsWith("metric eval_loss minimize, pbt every 20 steps mutating learning_rate, "
                + "weight_decay, lora_dropout"), s.summary());
    }
}
