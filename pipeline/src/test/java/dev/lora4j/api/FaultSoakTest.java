package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.actors.Faults;
import dev.lora4j.actors.TrialFolder;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.runtime.Torch;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.sweep.TrialSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A few hundred tiny trials on the real engine where about a quarter meet a fault at a random step (an exception
 * in a step, out of memory, the lane's thread dying, a checkpoint that cannot be written, a full disk for one
 * progress row) and a few are cancelled: every trial ends once with its result.json, nothing hangs, the leaderboard
 * lists every trial, every trial that finished has the adapter of a fault-free run (retries resume exactly; an
 * out-of-memory back-off trains on smaller micro-batches and is only checked to finish), and native memory is back
 * where it started.
 */
class FaultSoakTest {
    static final int TRIALS = 240;
    static final int STEPS = 6;

    static SweepSpec sweep() {
        Path s2 = Fixtures.tinyLlama("s2");
        return SweepBuilder.named("soak").model(s2.resolve("model")).data(s2.resolve("data.jsonl"), null)
                .lora(LoraConfig.builder().targetModules("q_proj", "v_proj").loraDropout(0.1).build())
                .training(TrainingConfig.builder().learningRate(5e-3).maxSteps(STEPS).batchSize(2).saveSteps(2)
                        .seed(9).build())
                .random(TRIALS, 5).grid("r", 2, 4, 8).range("learning_rate", 1e-4, 1e-2, "log_uniform_values")
                .metric("train_loss", Goal.MINIMIZE).devices("cpu").maxFailures(2).build();
    }

    @Test
    void everyTrialEndsOnceWhateverHappensToIt(@TempDir Path tmp) throws Exception {
        SweepSpec spec = sweep();
        List<TrialSpec> trials = spec.trials().stream().toList();
        Random rnd = new Random(42);
        Faults faults = new Faults();
        Faults.Kind[] kinds = Faults.Kind.values();
        List<TrialSpec> shuffled = new ArrayList<>(trials);
        java.util.Collections.shuffle(shuffled, rnd);
        for (TrialSpec t : shuffled.subList(0, TRIALS / 4)) {
            faults.plan(t.id(), kinds[rnd.nextInt(kinds.length)], 1 + rnd.nextInt(STEPS));
        }
        Set<String> toCancel = shuffled.subList(TRIALS / 4, TRIALS / 4 + 6).stream().map(TrialSpec::id)
                .collect(Collectors.toSet());

        Path clean = tmp.resolve("clean");
        Path faulty = tmp.resolve("faulty");
        try (Lora4j lora4j = Lora4j.create()) {
            lora4j.sweep(spec, SweepOptions.in(clean).withCpu(2, 1)).start().report().toCompletableFuture()
                    .get(5, TimeUnit.MINUTES);
        }
        Torch.engine();
        int liveBefore = Torch.liveArrays();
        EngineParts engine = EngineParts.engine();
        SweepReport report;
        List<TrialEvent> events;
        try (Lora4j lora4j = Lora4j.create(new EngineParts(engine.loader(), engine.adapters(), engine.data(),
                faults.runs(engine.runs())))) {
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(faulty).withCpu(2, 1),
                    faults.files(TrialFolder.in(faulty))).start();
            CompletionStage<List<TrialEvent>> all = h.events().runWith(Sink.seq(), lora4j.system());
            h.events().runForeach(e -> {
                if (e instanceof TrialEvent.Started s && toCancel.contains(s.trialId())) {
                    h.cancel(s.trialId());
                }
            }, lora4j.system());
            report = h.report().toCompletableFuture().get(5, TimeUnit.MINUTES);
            events = all.toCompletableFuture().get(1, TimeUnit.MINUTES);
        }
        assertEquals(liveBefore, Torch.liveArrays(), "every base, adapter and optimizer state was freed");

        Map<String, Long> ended = events.stream().filter(e -> e instanceof TrialEvent.Ended)
                .collect(Collectors.groupingBy(TrialEvent::trialId, Collectors.counting()));
        assertEquals(TRIALS, ended.size(), "every trial ended");
        assertTrue(ended.values().stream().allMatch(n -> n == 1), "and each exactly once: " + ended);
        assertEquals(TRIALS, report.leaderboard().size());
        assertEquals(TRIALS + 1, Files.readAllLines(faulty.resolve("leaderboard.csv")).size(),
                "the leaderboard lists every trial");
        Map<String, Faults.Planned> unfired = new HashMap<>(faults.planned());
        unfired.keySet().removeAll(faults.fired());
        // a checkpoint write can only fail where there is a checkpoint (save_steps 2, and none at the last step)
        unfired.values().removeIf(p -> p.kind() == Faults.Kind.CHECKPOINT_WRITE && p.step() > STEPS - 2);
        assertTrue(unfired.isEmpty(), "every planned fault happened; not: " + unfired);
        assertTrue(faults.fired().size() > TRIALS / 5, "faults happened: " + faults.fired().size());

        Map<String, Faults.Planned> planned = faults.planned();
        List<String> mismatched = new ArrayList<>();
        Map<TrialResult.Status, Integer> statuses = new HashMap<>();
        for (TrialResult r : report.leaderboard()) {
            statuses.merge(r.status(), 1, Integer::sum);
            Path dir = faulty.resolve("trials").resolve(r.trialId());
            String json = Files.readString(dir.resolve("result.json"));
            assertTrue(json.contains("\"status\" : \"" + r.status().json() + "\""), json);
            if (toCancel.contains(r.trialId()) && r.status() == TrialResult.Status.CANCELLED) {
                continue;
            }
            assertEquals(TrialResult.Status.FINISHED, r.status(), r.toString());
            Faults.Planned p = planned.get(r.trialId());
            if (p != null && p.kind() == Faults.Kind.OUT_OF_MEMORY) {
                continue;
            }
            Map<String, HostTensor> got = PeftAdapters.readTensors(dir.resolve("adapter"));
            Map<String, HostTensor> want = PeftAdapters.readTensors(clean.resolve("trials").resolve(r.trialId())
                    .resolve("adapter"));
            for (Map.Entry<String, HostTensor> e : want.entrySet()) {
                try {
                    assertArrayEquals(e.getValue().data(), got.get(e.getKey()).data(), 1e-6f);
                } catch (AssertionError x) {
                    mismatched.add(r.trialId() + " (" + p + ")");
                    break;
                }
            }
        }
        assertTrue(mismatched.isEmpty(), "adapters differ from a fault-free run: " + mismatched);
        assertTrue(statuses.getOrDefault(TrialResult.Status.CANCELLED, 0) >= 1, statuses.toString());
    }
}
