package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.config.Loaded;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** W&B's parameter vocabulary with W&B's meanings (wandb/sweeps params.py, HyperParameter.ppf). */
class WandbDistributionsTest {
    @TempDir Path dir;

    /** Expected values computed with scipy exactly as W&B's HyperParameter.ppf does, at u = 0.3. */
    @Test
    void eachDistributionIsWandbsQuantileFunction() {
        double u = 0.3;
        assertEquals(2.9, Distribution.UNIFORM.draw(2, 5, 1, u), 1e-12);
        assertEquals(3.0, Distribution.INT_UNIFORM.draw(2, 7, 1, u), 0);
        assertEquals(4.0, Distribution.Q_UNIFORM.draw(0, 10, 4, u), 0);
        // min/max are exponents: e^(-9 + 0.3 * 4)
        assertEquals(0.00040973497897978675, Distribution.LOG_UNIFORM.draw(-9, -5, 1, u), 1e-17);
        assertEquals(0.00039810717055349746, Distribution.LOG_UNIFORM_VALUES.draw(1e-4, 1e-2, 1, u), 1e-17);
        assertEquals(6.0, Distribution.Q_LOG_UNIFORM.draw(1, 4, 2, u), 0);
        assertEquals(12.0, Distribution.Q_LOG_UNIFORM_VALUES.draw(4, 256, 4, u), 0);
        assertEquals(0.016572675401761255, Distribution.INV_LOG_UNIFORM.draw(2, 5, 1, u), 1e-15);
        assertEquals(0.00039810717055349746, Distribution.INV_LOG_UNIFORM_VALUES.draw(1e-4, 1e-2, 1, u), 1e-17);
        assertEquals(-0.04880102541608178, Distribution.NORMAL.draw(1, 2, 1, u), 1e-12);
        assertEquals(8.0, Distribution.Q_NORMAL.draw(10, 3, 2, u), 0);
        assertEquals(0.0007015627183540518, Distribution.LOG_NORMAL.draw(-7, 0.5, 1, u), 1e-15);
        assertEquals(16.0, Distribution.Q_LOG_NORMAL.draw(3, 0.5, 4, u), 0);
        assertEquals(1.959963984540054, Gauss.quantile(0.975), 1e-12);
        assertEquals(-6.361340902404056, Gauss.quantile(1e-10), 1e-9);
        // numpy rounds halves to even
        assertEquals(2.0, Distribution.Q_UNIFORM.draw(2.5, 3.5, 1, 0), 0);
    }

    @Test
    void logUniformTakesExponentsAndWarnsWhenTheyLookLikeValues() throws IOException {
        Loaded<SweepSpec> exponents = SweepSpec.read(TinySweeps.write(dir, "method: {type: random, trials: 40}\n"
                + "parameters:\n  learning_rate: {min: -9.2103, max: -4.6052, distribution: log_uniform}\n"));
        assertEquals(List.of(), exponents.warnings());
        for (TrialSpec t : exponents.value().trials()) {
            double lr = t.parameters().get("training.learning_rate").doubleValue();
            assertTrue(lr >= 0.99e-4 && lr <= 1.01e-2, "lr " + lr);
        }
        Loaded<SweepSpec> values = SweepSpec.read(TinySweeps.write(dir, "method: {type: random, trials: 3}\n"
                + "parameters:\n  learning_rate: {min: 1.0e-4, max: 3.0e-3, distribution: log_uniform}\n"));
        assertEquals(List.of("parameters.learning_rate: log_uniform's min and max are natural-log exponents, as in "
                + "W&B: this draws between 1.0001 and 1.003; for values between 0.0001 and 0.003 write distribution: "
                + "log_uniform_values"), values.warnings());
        assertTrue(values.value().trials().get(0).parameters().get("training.learning_rate").doubleValue() > 1);
        assertEquals(List.of("parameters.learning_rate: inv_log_uniform's min and max are natural-log exponents, as "
                + "in W&B: this draws between 0.997 and 0.9999; for values between 0.0001 and 0.003 write distribution: "
                + "inv_log_uniform_values"), SweepSpec.read(TinySweeps.write(dir, "method: {type: random, trials: 3}\n"
                + "parameters:\n  learning_rate: {min: 1.0e-4, max: 3.0e-3, distribution: inv_log_uniform}\n"))
                .warnings());
    }

    @Test
    void probabilitiesWeightTheValues() throws IOException {
        SweepSpec s = TinySweeps.read(dir, "method: {type: random, trials: 4000, seed: 3}\nparameters:\n"
                + "  r: {values: [4, 8, 16], probabilities: [0.7, 0.2, 0.1]}\n");
        Map<Integer, Long> counts = s.trials().stream().collect(Collectors.groupingBy(
                t -> t.parameters().get("lora.r").intValue(), Collectors.counting()));
        assertEquals(0.7, counts.get(4) / 4000.0, 0.03);
        assertEquals(0.2, counts.get(8) / 4000.0, 0.03);
        assertEquals(0.1, counts.get(16) / 4000.0, 0.03);
        assertEquals(List.of("parameters.r.probabilities: probabilities must sum to 1, got 0.9"),
                TinySweeps.errors(dir, "method: {type: random, trials: 3}\nparameters:\n"
                        + "  r: {values: [4, 8], probabilities: [0.5, 0.4]}\n"));
        assertEquals(List.of("parameters.r.probabilities: probabilities must be a list of 2 numbers, one per value, "
                + "got [1]"), TinySweeps.errors(dir, "method: {type: random, trials: 3}\nparameters:\n"
                + "  r: {values: [4, 8], probabilities: [1]}\n"));
        assertEquals(List.of("parameters.r.probabilities: a grid runs every value once: probabilities apply to random "
                + "sweeps"), TinySweeps.errors(dir, "method: grid\nparameters:\n"
                + "  r: {values: [4, 8], probabilities: [0.5, 0.5]}\n"));
    }

    @Test
    void aGridEnumeratesIntUniformAndQUniformAsWandbDoes() throws IOException {
        SweepSpec s = TinySweeps.read(dir, "method: grid\nparameters:\n  r: {min: 2, max: 4}\n"
                + "  lora_dropout: {min: 0.0, max: 0.3, q: 0.1, distribution: q_uniform}\n");
        // numpy's arange(0.0, 0.3, 0.1): 0.3 itself is left out
        assertEquals(9, s.size());
        List<String> points = s.trials().stream().map(t -> t.parameters().get("lora.r") + "/"
                + t.parameters().get("lora.lora_dropout")).toList();
        assertEquals(List.of("2/0", "2/0.1", "2/0.2", "3/0", "3/0.1", "3/0.2", "4/0", "4/0.1", "4/0.2"),
                points);
    }

    @Test
    void wholeBoundsMeanIntUniformAsInWandb() throws IOException {
        Loaded<SweepSpec> l = SweepSpec.read(TinySweeps.write(dir, "method: {type: random, trials: 30}\nparameters:\n"
                + "  weight_decay: {min: 0, max: 2}\n"));
        assertEquals(List.of("parameters.weight_decay: min and max are whole numbers, so (as in W&B) weight_decay is "
                + "drawn from int_uniform, whole numbers only; write distribution: uniform for values in between"),
                l.warnings());
        for (TrialSpec t : l.value().trials()) {
            JsonNode wd = t.parameters().get("training.weight_decay");
            assertTrue(wd.isIntegralNumber() && wd.intValue() >= 0 && wd.intValue() <= 2, wd.toString());
        }
    }

    @Test
    void normalFamiliesTakeMuAndSigma() throws IOException {
        SweepSpec s = TinySweeps.read(dir, "method: {type: random, trials: 2000, seed: 1}\nparameters:\n"
                + "  learning_rate: {distribution: log_normal, mu: -7, sigma: 0.5}\n"
                + "  r: {distribution: q_normal, mu: 16, sigma: 3, q: 2}\n"
                + "  lora_dropout: {distribution: normal, mu: 0.1, sigma: 0.01}\n");
        double sumLog = 0;
        double sumDropout = 0;
        for (TrialSpec t : s.trials()) {
            sumLog += Math.log(t.parameters().get("training.learning_rate").doubleValue());
            JsonNode r = t.parameters().get("lora.r");
            assertTrue(r.isIntegralNumber() && r.intValue() % 2 == 0, r.toString());
            sumDropout += t.parameters().get("lora.lora_dropout").doubleValue();
        }
        assertEquals(-7, sumLog / 2000, 0.05);
        assertEquals(0.1, sumDropout / 2000, 0.002);
    }

    @Test
    void wrongCombinationsSayWhatEachDistributionReads() throws IOException {
        String head = "method: {type: random, trials: 3}\nparameters:\n";
        assertEquals(List.of("parameters.lora_dropout: mu and sigma need distribution: normal, q_normal, log_normal "
                + "or q_log_normal"), TinySweeps.errors(dir, head + "  lora_dropout: {mu: 0.1, sigma: 0.01}\n"));
        assertEquals(List.of("parameters.lora_dropout.q: uniform reads min, max, not q"),
                TinySweeps.errors(dir, head + "  lora_dropout: {min: 0.0, max: 0.1, q: 0.05, distribution: uniform}\n"));
        assertEquals(List.of("parameters.lora_dropout.distribution: normal takes mu/sigma, not min/max"),
                TinySweeps.errors(dir, head + "  lora_dropout: {min: 0.0, max: 0.1, distribution: normal}\n"));
        assertEquals(List.of("parameters.lora_dropout.sigma: sigma must be >= 0, got -1"),
                TinySweeps.errors(dir, head + "  lora_dropout: {mu: 0.1, sigma: -1, distribution: normal}\n"));
        assertEquals(List.of("parameters.r.distribution: r is an integer: use int_uniform, a q_ distribution with a "
                + "whole q (q: 1), or list values"),
                TinySweeps.errors(dir, head + "  r: {min: 4, max: 64, q: 4.0, distribution: q_log_uniform_values}\n"));
        assertEquals(List.of("parameters.r.distribution: categorical takes values, not min/max"),
                TinySweeps.errors(dir, head + "  r: {min: 4, max: 64, distribution: categorical}\n"));
        // W&B's own spellings of what lora4j read before
        SweepSpec ok = TinySweeps.read(dir, head + "  r: {values: [4, 8], distribution: categorical}\n"
                + "  lora_alpha: {value: 16, distribution: constant}\n"
                + "  learning_rate: {min: 1.0e-4, max: 1.0e-2, distribution: log_uniform_values}\n"
                + "  warmup_steps: {min: 1, max: 64, q: 4, distribution: q_log_uniform_values}\n");
        for (TrialSpec t : ok.trials()) {
            assertEquals(16, t.parameters().get("lora.lora_alpha").intValue());
            assertEquals(0, t.parameters().get("training.warmup_steps").intValue() % 4);
        }
    }
}
