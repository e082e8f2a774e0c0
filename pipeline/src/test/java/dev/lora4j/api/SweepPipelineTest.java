package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SweepPipelineTest {
    static Lora4j lora4j;

    @BeforeAll
    static void start() {
        lora4j = Lora4j.create();
    }

    @AfterAll
    static void stop() {
        lora4j.close();
    }

    static SweepBuilder tinySweep(String name) {
        Path dir = Fixtures.tinyLlama("s2");
        return SweepBuilder.named(name).model(dir.resolve("model"))
                .data(dir.resolve("data.jsonl"), dir.resolve("data.jsonl"))
                .lora(LoraConfig.builder().targetModules("q_proj", "v_proj").loraDropout(0.05).build())
                .training(TrainingConfig.builder().learningRate(5e-3).maxSteps(8).batchSize(4).evalSteps(4)
                        .saveSteps(4).seed(3).build())
                .devices("cpu");
    }

    @Test
    void sixTrialsOnTwoLanesAllFinish(@TempDir Path tmp) throws Exception {
        SweepSpec spec = tinySweep("grid6").grid("r", 2, 4, 8).tiedTo("lora_alpha", "r", 1, 2).build();
        assertEquals(6, spec.size());
        SweepHandle h = lora4j.sweep(spec, SweepOptions.in(tmp).withCpu(2, 1)).start();
        CompletionStage<List<TrialEvent>> events = h.events().runWith(Sink.seq(), lora4j.system());
        SweepReport report = h.report().toCompletableFuture().get(5, TimeUnit.MINUTES);
        assertEquals(6, report.count(TrialResult.Status.FINISHED), report.leaderboard().toString());
        List<TrialResult> board = report.leaderboard();
        for (int i = 1; i < board.size(); i++) {
            assertTrue(board.get(i - 1).metric("eval_loss").get() <= board.get(i).metric("eval_loss").get());
        }
        for (TrialResult r : board) {
            assertTrue(Files.isRegularFile(r.adapter().resolve("adapter_model.safetensors")), r.toString());
            assertEquals(8, r.steps());
        }
        assertTrue(Files.isRegularFile(tmp.resolve("leaderboard.csv")));
        List<TrialEvent> all = events.toCompletableFuture().get(1, TimeUnit.MINUTES);
        // a subscriber that attaches after the start gets each trial's state so far: at least its one Ended
        assertEquals(6, all.stream().filter(e -> e instanceof TrialEvent.Ended).count());
        for (TrialResult r : board) {
            assertTrue(Files.isDirectory(tmp.resolve("trials").resolve(r.trialId()).resolve("checkpoints/step-4")));
        }
    }

    @Test
    void appsComposeTheStagesThemselves(@TempDir Path tmp) throws Exception {
        SweepSpec spec = tinySweep("composed").grid("r", 2, 4).build();
        Pipeline p = lora4j.pipeline(spec, SweepOptions.in(tmp).withCpu(2, 1));
        Stages s = p.stages();
        List<TrialResult> results = org.apache.pekko.stream.javadsl.Source.from(spec.trials().stream().toList())
                .via(s.skipEnded()).via(s.validate(p.slots())).via(s.run(p.slots()))
                .runWith(Sink.seq(), lora4j.system()).toCompletableFuture().get(2, TimeUnit.MINUTES);
        assertEquals(2, results.size());
        assertTrue(results.stream().allMatch(r -> r.status() == TrialResult.Status.FINISHED), results.toString());
        p.close();
        SweepReport report = p.report().toCompletableFuture().get(1, TimeUnit.MINUTES);
        assertEquals(2, report.count(TrialResult.Status.FINISHED));
        assertTrue(Files.readString(tmp.resolve("leaderboard.csv")).lines().count() == 3, "header and two rows");
    }

    @Test
    void cancellingStopsEveryTrialAtAStepBoundaryWithACheckpoint(@TempDir Path tmp) throws Exception {
        SweepSpec longer = SweepBuilder.named("cancel").model(Fixtures.tinyLlama("s2").resolve("model"))
                .data(Fixtures.tinyLlama("s2").resolve("data.jsonl"), Fixtures.tinyLlama("s2").resolve("data.jsonl"))
                .lora(LoraConfig.builder().targetModules("q_proj", "v_proj").build())
                .training(TrainingConfig.builder().maxSteps(400).batchSize(4).evalSteps(100).saveSteps(50).seed(3)
                        .build())
                .devices("cpu").grid("r", 2, 4, 8).build();
        SweepHandle h = lora4j.sweep(longer, SweepOptions.in(tmp).withCpu(2, 1)).start();
        h.events().filter(e -> e instanceof TrialEvent.Checkpointed).take(1)
                .runWith(Sink.ignore(), lora4j.system()).toCompletableFuture().get(2, TimeUnit.MINUTES);
        SweepReport cancelled = h.cancel().toCompletableFuture().get(2, TimeUnit.MINUTES);
        assertTrue(cancelled.cancelled());
        assertEquals(3, cancelled.leaderboard().size());
        for (TrialResult r : cancelled.leaderboard()) {
            assertEquals(TrialResult.Status.CANCELLED, r.status(), r.toString());
        }
        assertTrue(cancelled.leaderboard().stream().anyMatch(r -> r.checkpoint().isPresent()));
    }
}
