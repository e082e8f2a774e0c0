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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** W&B's hyperband stopping in a sweep on stand-in training, one lane: it stops trials, and a resume agrees. */
class HyperbandSweepTest {
    private static SweepSpec spec() {
        var tree = Fakes.sweep("hb", 8, 2, 2).grid("r", 2, 4, 8, 16, 32, 64).grid("lora_dropout", 0.0, 0.1)
                .devices("cpu").tree();
        tree.putObject("early_terminate").put("type", "hyperband").put("min_iter", 1).put("eta", 2);
        return SweepSpec.fromTree(tree, Path.of("").toAbsolutePath().resolve("sweep.yaml")).value();
    }

    private static List<String> outcome(SweepReport r) {
        return r.leaderboard().stream().sorted(Comparator.comparingLong(TrialResult::index))
                .map(t -> t.trialId() + " " + t.status() + " " + t.metric("eval_loss").orElse(null)).toList();
    }

    @Test
    void hyperbandStopsTrialsAndAResumedSweepDecidesTheSame(@TempDir Path tmp) throws Exception {
        SweepSpec spec = spec();
        FakeRuns runs = new FakeRuns().stepMillis(4);
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepReport straight = lora4j.sweep(spec, SweepOptions.in(tmp.resolve("straight")).withCpu(1, 1))
                    .start().report().toCompletableFuture().get(2, TimeUnit.MINUTES);
            long stopped = straight.count(TrialResult.Status.STOPPED);
            assertTrue(stopped >= 2 && straight.count(TrialResult.Status.FINISHED) >= 2, outcome(straight).toString());

            Path cut = tmp.resolve("cut");
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(cut).withCpu(1, 1)).start();
            Set<String> ended = ConcurrentHashMap.newKeySet();
            h.events().filter(e -> {
                if (e instanceof TrialEvent.Ended) {
                    ended.add(e.trialId());
                }
                return ended.size() >= 6 && e instanceof TrialEvent.Checkpointed c && !ended.contains(c.trialId());
            }).take(1).runWith(Sink.ignore(), lora4j.system()).toCompletableFuture().get(1, TimeUnit.MINUTES);
            h.cancel().toCompletableFuture().get(1, TimeUnit.MINUTES);
            SweepReport resumed = lora4j.sweep(spec, SweepOptions.in(cut).withCpu(1, 1).resuming(true))
                    .start().report().toCompletableFuture().get(2, TimeUnit.MINUTES);
            assertEquals(outcome(straight), outcome(resumed));
        }
    }
}
