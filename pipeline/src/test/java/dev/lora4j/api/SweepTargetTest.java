package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.actors.FakeRuns;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** W&B's metric.target and run_cap on stand-in training, one lane. */
class SweepTargetTest {
    private static SweepBuilder sweep() {
        return Fakes.sweep("target", 4, 0, 2).random(30, 11).range("lora_dropout", 0.0, 0.3, "uniform")
                .devices("cpu");
    }

    private static List<TrialResult> byIndex(SweepReport r) {
        return r.leaderboard().stream().sorted(Comparator.comparingLong(TrialResult::index)).toList();
    }

    @Test
    void noTrialStartsAfterOneReachedTheTargetNorWhenResumed(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepSpec capped = sweep().runCap(12).build();
            // the report in memory: the leaderboard's file rounds metrics to 6 digits
            List<TrialResult> all = byIndex(lora4j.sweep(capped, SweepOptions.in(tmp.resolve("all")).withCpu(1, 1))
                    .start().report().toCompletableFuture().get(2, TimeUnit.MINUTES));
            assertEquals(12, all.size(), "run_cap 12 of 30 draws");
            // the first trial (after a few) better than every one before it: the target it sets stops the sweep there
            int k = -1;
            double best = Double.MAX_VALUE;
            for (int i = 0; i < all.size(); i++) {
                double v = all.get(i).metric("eval_loss").orElseThrow();
                if (i >= 2 && v < best) {
                    k = i;
                    break;
                }
                best = Math.min(best, v);
            }
            assertTrue(k > 0 && k < 11, "the draws have an improvement to stop at: " + all);
            double target = all.get(k).metric("eval_loss").orElseThrow();

            int opened = runs.opened();
            Path folder = tmp.resolve("target");
            SweepSpec spec = sweep().target(target).build();
            SweepLifecycleTest.run(lora4j, spec, SweepOptions.in(folder).withCpu(1, 1));
            List<TrialResult> stopped = byIndex(new dev.lora4j.report.SweepFolder(folder).readReport());
            assertEquals(all.subList(0, k + 1).stream().map(TrialResult::trialId).toList(),
                    stopped.stream().map(TrialResult::trialId).toList(), "trials up to the one that reached " + target
                    + ": " + stopped.stream().map(r -> r.trialId() + " " + r.status()).toList());
            assertEquals(opened + k + 1, runs.opened());

            List<TrialEvent> resumed = SweepLifecycleTest.run(lora4j, spec, SweepOptions.in(folder).withCpu(1, 1)
                    .resuming(true));
            assertEquals(0, SweepLifecycleTest.count(resumed, TrialEvent.Started.class), "nothing new starts");
            assertEquals(opened + k + 1, runs.opened());
            assertEquals(k + 1, new dev.lora4j.report.SweepFolder(folder).readReport().leaderboard().size());
        }
    }
}
