package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** W&B's run_cap and metric.target. */
class RunCapAndTargetTest {
    @TempDir Path dir;

    @Test
    void runCapKeepsTheFirstTrials() throws IOException {
        SweepSpec random = TinySweeps.read(dir, "method: {type: random, trials: 40, seed: 2}\nrun_cap: 5\n"
                + "parameters:\n  learning_rate: {min: 1.0e-4, max: 1.0e-2, distribution: log_uniform_values}\n");
        SweepSpec uncapped = TinySweeps.read(dir, "method: {type: random, trials: 40, seed: 2}\n"
                + "parameters:\n  learning_rate: {min: 1.0e-4, max: 1.0e-2, distribution: log_uniform_values}\n");
        assertEquals(5, random.size());
        assertEquals(uncapped.trials().stream().limit(5).map(TrialSpec::id).toList(),
                random.trials().stream().map(TrialSpec::id).toList());
        assertTrue(random.summary().contains("5 trials") && random.summary().endsWith("run_cap 5), metric eval_loss "
                + "minimize"), random.summary());
        SweepSpec grid = TinySweeps.read(dir, "method: grid\nrun_cap: 3\nparameters:\n  r: {values: [2, 4, 8, 16]}\n");
        assertEquals(List.of(2, 4, 8), grid.trials().stream().map(t -> t.lora().r()).toList());
        assertEquals(List.of("run_cap: run_cap must be >= 1 (the most trials the sweep runs), got 0"),
                TinySweeps.errors(dir, "method: grid\nrun_cap: 0\nparameters:\n  r: {values: [2]}\n"));
    }

    @Test
    void targetIsReachedInTheGoalsDirection() throws IOException {
        SweepSpec s = TinySweeps.read(dir, "method: grid\nmetric: {name: eval_loss, goal: minimize, target: 0.5}\n"
                + "parameters:\n  r: {values: [2]}\n");
        assertEquals(OptionalDouble.of(0.5), s.metric().target());
        assertTrue(s.metric().reaches(0.5));
        assertTrue(s.metric().reaches(0.1));
        assertFalse(s.metric().reaches(0.51));
        assertEquals("eval_loss minimize (target 0.5)", s.metric().toString());
        Metric up = new Metric("eval_accuracy", Goal.MAXIMIZE, OptionalDouble.of(0.95));
        assertTrue(up.reaches(0.95));
        assertFalse(up.reaches(0.9));
        assertFalse(Metric.DEFAULT.reaches(-1e9));
        assertEquals(List.of("metric.target: target must be a number, got \"low\""), TinySweeps.errors(dir,
                "method: grid\nmetric: {name: eval_loss, target: low}\nparameters:\n  r: {values: [2]}\n"));
    }
}
