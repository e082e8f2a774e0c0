package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HyperbandStoppingTest {
    private static Map<String, Double> loss(double v) {
        return Map.of("loss", v);
    }

    /** The example of W&B's hyperband_stop_runs docstring: max_iter 5, eta 2, s 2 (bands 1, 2), strict. */
    @Test
    void wandbsDocstringExampleStopsTheSameRuns() {
        HyperbandStopping h = new HyperbandStopping(List.of(1L, 2L), 2, true, "loss", false);
        // a and e have ended (their histories count); b, c, d are running
        h.replay("a", 1, loss(10));
        h.replay("a", 2, loss(9));
        h.replay("e", 1, loss(10));
        h.replay("e", 2, loss(6));
        h.replay("e", 3, loss(6));
        h.replay("b", 1, loss(10));
        h.replay("c", 1, loss(10));
        h.replay("c", 2, loss(8));
        h.replay("d", 1, loss(10));
        h.replay("d", 2, loss(7));
        // band 2: values 9, 10, 8, 7, 6 -> sorted[int(5 / 2)] = 8
        assertNotNull(h.shouldStop("b", 2, loss(10)), "b: 10 > 8 at band 2");
        assertNull(h.shouldStop("d", 3, loss(7)), "d: 7 <= 8");
        // c's value at band 2 is 8, not above the threshold (9, 6, 10, 8, 7 -> 8): W&B's rule is "worse than"
        assertNull(h.shouldStop("c", 3, loss(8)));
    }

    @Test
    void maximizingAndTheConservativeRule() {
        HyperbandStopping strict = new HyperbandStopping(List.of(2L), 3, true, "acc", true);
        HyperbandStopping best = new HyperbandStopping(List.of(2L), 3, false, "acc", true);
        for (HyperbandStopping h : List.of(strict, best)) {
            h.replay("x", 1, Map.of("acc", 0.9));
            h.replay("x", 2, Map.of("acc", 0.9));
            h.replay("y", 1, Map.of("acc", 0.8));
            h.replay("y", 2, Map.of("acc", 0.85));
            h.replay("z", 1, Map.of("acc", 0.95));
        }
        // z falls to 0.5 at its 2nd evaluation: threshold sorted(-0.9, -0.85, -0.5)[1] = -0.85
        assertEquals("hyperband: acc 0.5000 at band 2 (evaluations) is worse than the threshold 0.8500 of the 3 trials "
                + "that reached it (best 1/3 go on)", strict.shouldStop("z", 2, Map.of("acc", 0.5)));
        assertNull(best.shouldStop("z", 2, Map.of("acc", 0.5)), "its best, 0.95, is above the threshold");
        assertNull(strict.shouldStop("w", 1, Map.of("acc", 0.1)), "no band reached yet");
    }
}
