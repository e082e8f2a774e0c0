package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every trial of a sweep has its own id: its folder runs/SWEEP/trials/ID/ is never shared. */
class TrialIdsTest {
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

    private static List<String> ids(SweepSpec s) {
        return s.trials().stream().map(TrialSpec::id).toList();
    }

    private static final String RANDOM_R = "method: {type: random, trials: 6}\nparameters:\n  r: {values: [2, 4]}\n";

    @Test
    void repeatedRandomDrawsEachHaveTheirOwnId() throws IOException {
        SweepSpec s = read(RANDOM_R);
        List<TrialSpec> trials = s.trials().stream().toList();
        assertEquals(6, trials.size());
        // six draws of two values repeat a value: the case of the issue (one folder, four interleaved curves)
        assertTrue(trials.stream().map(t -> t.parameters().get("lora.r").intValue()).distinct().count() <= 2);
        assertEquals(6, trials.stream().map(TrialSpec::id).distinct().count(), ids(s).toString());
        for (TrialSpec t : trials) {
            assertTrue(t.id().matches("[0-9a-f]{10}"), t.id());
        }
    }

    @Test
    void randomIdsAreTheSameOnEveryExpansionAndEveryJvm() throws IOException {
        List<String> first = ids(read(RANDOM_R));
        assertEquals(first, ids(read(RANDOM_R)), "a second reading of the file finds the same folders");
        // sha256('{"draw":I,"parameters":{"lora.r":R}}')[:10]: fixed text, so fixed on any JVM
        List<String> expected = new ArrayList<>();
        SweepSpec s = read(RANDOM_R);
        for (int i = 0; i < 6; i++) {
            int r = s.trials().get(i).parameters().get("lora.r").intValue();
            expected.add(switch (i * 10 + r) {
                case 2 -> "33b1b11182";
                case 4 -> "fc11be5903";
                case 12 -> "f322bccc08";
                case 14 -> "14fc490116";
                case 22 -> "b11b1fd130";
                case 24 -> "bc3248af4e";
                case 32 -> "346857516c";
                case 34 -> "095ff29f07";
                case 42 -> "233cc947a6";
                case 44 -> "e1b938da0d";
                case 52 -> "8e5039d16a";
                case 54 -> "844ef7be1d";
                default -> throw new AssertionError("r " + r);
            });
        }
        assertEquals(expected, first);
    }

    @Test
    void aRandomIdIsComputedFromItsDrawAlone() throws IOException {
        SweepSpec s = read(RANDOM_R);
        List<String> all = ids(s);
        Iterator<TrialSpec> resumed = s.trials().iterator(4);
        assertEquals(all.get(4), resumed.next().id());
        assertEquals(all.get(5), s.trials().get(5).id());
        // more draws leave the earlier ids alone: draw i's id depends on i and its values, not on the trial count
        SweepSpec longer = read(RANDOM_R.replace("trials: 6", "trials: 40"));
        assertEquals(all, ids(longer).subList(0, 6));
        assertEquals(40, ids(longer).stream().distinct().count());
    }

    @Test
    void randomAndGridIdsOfTheSameValuesDiffer() throws IOException {
        SweepSpec random = read("method: {type: random, trials: 1}\nparameters:\n  r: {values: [8]}\n"
                + "  lora_alpha: {values: [16]}\n");
        SweepSpec grid = read("method: grid\nparameters:\n  r: {values: [8]}\n  lora_alpha: {values: [16]}\n");
        assertEquals(random.trials().get(0).parameters(), grid.trials().get(0).parameters());
        assertEquals("0e3fd2b2e2", grid.trials().get(0).id());
        assertNotEquals("0e3fd2b2e2", random.trials().get(0).id());
    }

    @Test
    void gridIdsAreUnchanged() throws IOException {
        SweepSpec s = read("lora: {target_modules: [q_proj, v_proj]}\nmethod: grid\nparameters:\n"
                + "  r: {values: [4, 8, 16]}\n  lora_alpha: {ratio_to: r, values: [1, 2]}\n");
        // sha256('{"lora.lora_alpha":A,"lora.r":R}')[:10], as before draws were numbered: existing folders still match
        assertEquals(List.of("492de57132", "787599d232", "a4bdf7ac91", "0e3fd2b2e2", "7282114cc1", "297fd16f01"),
                ids(s));
    }

    @Test
    void aGridRefusesValuesThatAreTheSamePoint() throws IOException {
        // exact duplicates were refused already
        assertEquals(List.of("parameters.r.values[1]: duplicate value 4: each point would run twice"),
                errors("method: grid\nparameters:\n  r: {values: [4, 4]}\n"));
        // 16 and 16.0 are one value (and one id): the same point twice
        assertEquals(List.of("parameters.lora_alpha.values[1]: duplicate value 16.0 (values[0] is 16): each point "
                + "would run twice"), errors("method: grid\nparameters:\n  lora_alpha: {values: [16, 16.0]}\n"));
    }

    @Test
    void aGridRefusesTiesWhoseFactorsGiveTheSameValue() throws IOException {
        assertEquals(List.of("parameters.lora_alpha.values[2]: duplicate factor 2.0 (values[1] is 2): each point "
                + "would run twice"),
                errors("method: grid\nparameters:\n  r: {values: [4, 8]}\n"
                        + "  lora_alpha: {ratio_to: r, values: [1, 2, 2.0]}\n"));
        // r is an integer: 8 x 0.5 and 8 x 0.55 both round to 4, so two grid points would be one trial
        assertEquals(List.of("parameters.r.values[1]: r 4 (lora_alpha 8 x 0.55) is also what values[0] gives "
                + "(lora_alpha 8 x 0.5): two grid points would be the same trial; change or drop a factor"),
                errors("method: grid\nparameters:\n  lora_alpha: {values: [8, 16]}\n"
                        + "  r: {ratio_to: lora_alpha, values: [0.5, 0.55]}\n"));
        // tied to the base's value when the other field is not swept
        assertEquals(List.of("parameters.r.values[1]: r 4 (lora_alpha 7 x 0.6) is also what values[0] gives "
                + "(lora_alpha 7 x 0.5): two grid points would be the same trial; change or drop a factor"),
                errors("lora: {lora_alpha: 7}\nmethod: grid\nparameters:\n"
                        + "  r: {ratio_to: lora_alpha, values: [0.5, 0.6]}\n"
                        + "  learning_rate: {values: [1.0e-4, 2.0e-4]}\n"));
        // factors that stay apart are fine, and so are their ids
        SweepSpec ok = read("method: grid\nparameters:\n  lora_alpha: {values: [8, 16]}\n"
                + "  r: {ratio_to: lora_alpha, values: [0.5, 1]}\n");
        assertEquals(4, ids(ok).stream().distinct().count());
    }

    @Test
    void randomSweepsKeepDrawsThatCoincide() throws IOException {
        // a random sweep may draw the same point twice (as W&B and Optuna do); each draw is its own trial
        SweepSpec s = read("lora: {lora_alpha: 7}\nmethod: {type: random, trials: 5, seed: 3}\nparameters:\n"
                + "  r: {ratio_to: lora_alpha, values: [0.5, 0.6]}\n");
        assertEquals(1, s.trials().stream().map(t -> t.parameters().get("lora.r").intValue()).distinct().count());
        assertEquals(5, ids(s).stream().distinct().count());
    }

    @Test
    void everyGridTrialHasItsOwnId() throws IOException {
        SweepSpec s = read("method: grid\nparameters:\n  lora_alpha: {values: [8, 16, 32]}\n"
                + "  r: {ratio_to: lora_alpha, values: [0.25, 0.5, 1]}\n  lora_dropout: {values: [0, 0.05, 0.1]}\n"
                + "  target_modules: {values: [[q_proj, v_proj], [v_proj, q_proj], all-linear]}\n"
                + "  use_rslora: {values: [false, true]}\n");
        assertEquals(162, s.size());
        assertEquals(162, ids(s).stream().distinct().count());
    }
}
