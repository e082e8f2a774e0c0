package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** early_terminate: {type: hyperband} with W&B's keys and bands (wandb/sweeps hyperband_stopping.py). */
class HyperbandTest {
    @TempDir Path dir;

    @Test
    void bandsAreWandbsAndLiEtAlsRungs() {
        // Li et al. 2018, Table 1 (R = 81, eta = 3): bracket s trains n_i configurations for r_i = R eta^(i - s);
        // W&B's bands for max_iter R and s are that bracket's r_i below R
        assertEquals(List.of(1L, 3L, 9L, 27L), Hyperband.fromMaxIter(81, 4, 3)); // s=4: r_i 1, 3, 9, 27, 81
        assertEquals(List.of(3L, 9L, 27L), Hyperband.fromMaxIter(81, 3, 3)); // s=3: 3, 9, 27, 81
        assertEquals(List.of(9L, 27L), Hyperband.fromMaxIter(81, 2, 3)); // s=2: 9, 27, 81
        assertEquals(List.of(27L), Hyperband.fromMaxIter(81, 1, 3)); // s=1: 27, 81
        // W&B's docstring example: max_iter 5, eta 2, s 2 gives 2.5 and 1.25, rounded down
        assertEquals(List.of(1L, 2L), Hyperband.fromMaxIter(5, 2, 2));
        // s beyond what max_iter allows stops at the first band below 1
        assertEquals(List.of(1L, 3L, 9L), Hyperband.fromMaxIter(27, 10, 3));
        assertEquals(List.of(), Hyperband.fromMaxIter(2, 1, 3));
        // min_iter: min_iter * eta^k, as W&B's loop (float, then int())
        assertEquals(List.of(3L, 6L, 12L, 24L), Hyperband.fromMinIter(3, 2).subList(0, 4));
        assertEquals(List.of(2L, 5L, 12L, 31L), Hyperband.fromMinIter(2, 2.5).subList(0, 4));
    }

    @Test
    void aSweepFileTakesWandbsKeys() throws IOException {
        String head = "method: grid\ntraining: {max_steps: 40, eval_steps: 5}\nparameters: {r: {values: [4, 8]}}\n";
        SweepSpec s = TinySweeps.read(dir, head + "early_terminate: {type: hyperband, max_iter: 27, s: 2, eta: 3}\n");
        assertEquals(new Hyperband(List.of(3L, 9L), 3, true), s.earlyTerminate().orElseThrow());
        SweepSpec m = TinySweeps.read(dir, head + "early_terminate: {type: hyperband, min_iter: 2, strict: false}\n");
        Hyperband h = (Hyperband) m.earlyTerminate().orElseThrow();
        assertEquals(List.of(2L, 6L, 18L), h.bands().subList(0, 3));
        assertEquals(false, h.strict());
        assertEquals(List.of("early_terminate: hyperband needs min_iter, or max_iter with s (W&B's keys)"),
                TinySweeps.errors(dir, head + "early_terminate: {type: hyperband, eta: 2}\n"));
        assertEquals(List.of("early_terminate.s: missing: hyperband takes max_iter with s, or min_iter"),
                TinySweeps.errors(dir, head + "early_terminate: {type: hyperband, max_iter: 9}\n"));
        assertEquals(List.of("early_terminate.eta: eta must be > 1, got 1"),
                TinySweeps.errors(dir, head + "early_terminate: {type: hyperband, min_iter: 1, eta: 1}\n"));
        assertEquals(List.of("early_terminate: no band: max_iter 2 / eta 3 is below 1 evaluation; increase max_iter "
                + "or s, or decrease eta"),
                TinySweeps.errors(dir, head + "early_terminate: {type: hyperband, max_iter: 2, s: 1}\n"));
        assertEquals(List.of("early_terminate.grace_period: grace_period is asha's; hyperband's is min_iter"),
                TinySweeps.errors(dir, head + "early_terminate: {type: hyperband, min_iter: 1, grace_period: 1}\n"));
    }
}
