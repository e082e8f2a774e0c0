package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.actors.FakeRuns;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.sweep.SweepSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** method: bayes on stand-in training: proposals as lanes free up, and a resume that proposes the same trials. */
class BayesSweepTest {
    private static final int TRIALS = 10;

    private static SweepSpec built() {
        var tree = Fakes.sweep("bayes", 6, 2, 2).range("learning_rate", 1e-4, 1e-2, "log_uniform_values")
                .grid("r", 2, 4, 8).tiedTo("lora_alpha", "r", 1, 2).devices("cpu").tree();
        tree.putObject("method").put("type", "bayes").put("trials", TRIALS).put("seed", 3).put("startup_trials", 3);
        return SweepSpec.fromTree(tree, Path.of("").toAbsolutePath().resolve("sweep.yaml")).value();
    }

    /** index, id and values of each trial, in index order. */
    private static List<String> trials(SweepReport r) {
        return r.leaderboard().stream().sorted(Comparator.comparingLong(TrialResult::index))
                .map(t -> t.index() + " " + t.trialId() + " " + t.parameters()).toList();
    }

    @Test
    void withTwoLanesAProposalWaitsForAFreeLaneAndKnowsWhatRuns(@TempDir Path tmp) throws Exception {
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(new FakeRuns().stepMillis(2)))) {
            SweepReport r = lora4j.sweep(built(), SweepOptions.in(tmp).withCpu(2, 1)).start().report()
                    .toCompletableFuture().get(2, TimeUnit.MINUTES);
            assertEquals(TRIALS, r.count(TrialResult.Status.FINISHED));
            var json = new com.fasterxml.jackson.databind.ObjectMapper();
            boolean concurrent = false;
            for (String line : Files.readAllLines(tmp.resolve(BayesSearch.LOG))) {
                var n = json.readTree(line);
                int running = n.get("running").asInt();
                assertTrue(running < 2, "a proposal waits for a free lane: " + line);
                assertEquals(n.get("index").asInt(), n.get("ended").asInt() + running,
                        "every earlier trial has ended or is in flight: " + line);
                concurrent |= running == 1;
            }
            assertTrue(concurrent, "some proposals were made while another trial ran (the constant liar's case)");
        }
    }

    @Test
    void aResumedBayesSweepProposesTheTrialsOfAnUninterruptedOne(@TempDir Path tmp) throws Exception {
        SweepSpec spec = built();
        FakeRuns runs = new FakeRuns().stepMillis(4);
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepReport straight = lora4j.sweep(spec, SweepOptions.in(tmp.resolve("straight")).withCpu(1, 1))
                    .start().report().toCompletableFuture().get(2, TimeUnit.MINUTES);
            List<String> expected = trials(straight);
            assertEquals(TRIALS, expected.size());
            assertEquals(TRIALS, Files.readAllLines(tmp.resolve("straight").resolve(BayesSearch.LOG)).size());
            assertEquals(TRIALS, straight.count(TrialResult.Status.FINISHED));

            // interrupted after 5 trials ended, in the middle of the 6th
            Path cut = tmp.resolve("cut");
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(cut).withCpu(1, 1)).start();
            Set<String> ended = ConcurrentHashMap.newKeySet();
            h.events().filter(e -> {
                if (e instanceof TrialEvent.Ended) {
                    ended.add(e.trialId());
                }
                return ended.size() >= 5 && e instanceof TrialEvent.Checkpointed c && !ended.contains(c.trialId());
            }).take(1).runWith(Sink.ignore(), lora4j.system()).toCompletableFuture().get(1, TimeUnit.MINUTES);
            SweepReport partial = h.cancel().toCompletableFuture().get(1, TimeUnit.MINUTES);
            assertTrue(partial.count(TrialResult.Status.FINISHED) < TRIALS, partial.leaderboard().toString());
            // a kill -9 while a line was written leaves half of it
            Files.writeString(cut.resolve(BayesSearch.LOG), "{\"index\": 99, \"id\": \"ab", StandardCharsets.UTF_8,
                    StandardOpenOption.APPEND);

            int opened = runs.opened();
            SweepReport resumed = lora4j.sweep(spec, SweepOptions.in(cut).withCpu(1, 1).resuming(true))
                    .start().report().toCompletableFuture().get(2, TimeUnit.MINUTES);
            assertEquals(expected, trials(resumed));
            assertEquals(TRIALS, resumed.count(TrialResult.Status.FINISHED));
            assertTrue(runs.opened() - opened <= TRIALS - 5, "ended trials are kept, not trained again");
        }
    }
}
