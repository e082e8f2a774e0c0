package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.sweep.Asha;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AshaSchedulerTest {

    @Test
    void rungsGrowGeometricallyBelowMaxT() {
        assertEquals(List.of(2L, 6L, 18L), new AshaScheduler(new Asha(2, 3, 30), 1, "eval_loss", false).rungs());
    }

    @Test
    void stopsTrialsOutsideTheBestThirdAtARung() {
        AshaScheduler s = new AshaScheduler(new Asha(2, 3, 100), 1, "eval_loss", false);
        assertNull(s.shouldStop("a", 2, Map.of("eval_loss", 1.0)), "the first result at a rung always goes on");
        assertNotNull(s.shouldStop("b", 2, Map.of("eval_loss", 2.0)), "worse than the 1/3 quantile of [1, 2]");
        assertNull(s.shouldStop("c", 2, Map.of("eval_loss", 0.5)), "best so far");
        String why = s.shouldStop("d", 3, Map.of("eval_loss", 5.0));
        assertTrue(why.startsWith("ASHA: eval_loss 5.000 at step 2"), why);
        assertNull(s.shouldStop("a", 3, Map.of("eval_loss", 9.0)), "a rung is judged once per trial");
    }

    @Test
    void maximizeKeepsTheHighest() {
        AshaScheduler s = new AshaScheduler(new Asha(1, 2, 10), 1, "eval_accuracy", true);
        assertNull(s.shouldStop("a", 1, Map.of("eval_accuracy", 0.6)));
        assertNull(s.shouldStop("b", 1, Map.of("eval_accuracy", 0.9)));
        assertNotNull(s.shouldStop("c", 1, Map.of("eval_accuracy", 0.5)));
        assertNull(s.shouldStop("d", 1, Map.of("eval_loss", 0.1)), "no metric, no decision");
    }

    @Test
    void replayedEvaluationsCountAtTheirRungsWithoutDecidingAnything() {
        AshaScheduler live = new AshaScheduler(new Asha(2, 3, 100), 1, "eval_loss", false);
        AshaScheduler resumed = new AshaScheduler(new Asha(2, 3, 100), 1, "eval_loss", false);
        live.shouldStop("a", 2, Map.of("eval_loss", 1.0));
        assertNotNull(live.shouldStop("b", 2, Map.of("eval_loss", 2.0)));
        resumed.replay("a", 2, Map.of("eval_loss", 1.0));
        resumed.replay("b", 2, Map.of("eval_loss", 2.0));
        resumed.replay("b", 2, Map.of("eval_loss", 2.0));
        // the third trial meets the same rung as in the uninterrupted sweep
        assertEquals(live.shouldStop("c", 2, Map.of("eval_loss", 1.5)),
                resumed.shouldStop("c", 2, Map.of("eval_loss", 1.5)));
        assertNotNull(resumed.shouldStop("d", 2, Map.of("eval_loss", 1.9)), "a replay counts once per trial");
    }

    /** Without max_t the rungs stop short of overflowing: before, eta 10 wrapped to negative steps near 2^63. */
    @Test
    void withoutMaxTTheRungsStayPositiveAndGrow() {
        List<Long> rungs = new AshaScheduler(new Asha(2, 10, null), 100, "eval_loss", false).rungs();
        assertEquals(List.of(200L, 2000L, 20000L), rungs.subList(0, 3));
        for (int i = 1; i < rungs.size(); i++) {
            assertTrue(rungs.get(i) > rungs.get(i - 1), rungs.toString());
        }
    }
}
