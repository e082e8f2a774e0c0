package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrialRunTest {
    static BaseModel base;
    static List<long[]> rows;

    @BeforeAll
    static void load() {
        Path dir = Fixtures.tinyLlama("s2");
        base = HfModels.load(dir.resolve("model"));
        rows = Fixtures.rows(dir.resolve("data.jsonl"));
    }

    @AfterAll
    static void close() {
        base.close();
    }

    static TrialRun.Settings settings(int maxSteps, int evalSteps, double dropout) {
        return new TrialRun.Settings(5e-3, 0.01, 0.9, 0.999, 1e-8, "linear", 2, 0, 1, maxSteps, 2, 1.0, evalSteps,
                0, 0, 7, "eval_loss", false);
    }

    static LoraConfig lora(double dropout) {
        return LoraConfig.builder().targetModules("q_proj", "v_proj", "down_proj").r(4).loraAlpha(8)
                .loraDropout(dropout).build();
    }

    static TrialRun run(Adapter ad, int maxSteps, int evalSteps) {
        return new TrialRun(base, ad, new Objective.CausalLm(), settings(maxSteps, evalSteps, 0),
                new RowBatches(rows, 3, 7), RowBatches.inOrder(rows, 4), TrainListener.NONE);
    }

    @Test
    void trainingLowersTheEvalLoss() {
        try (Adapter ad = Adapter.create(base, lora(0.05), 1); TrialRun run = run(ad, 20, 10)) {
            double before = Evaluator.evaluate(base, ad, new Objective.CausalLm(), RowBatches.inOrder(rows, 4))
                    .get("eval_loss");
            while (!run.finished()) {
                StepReport r = run.step();
                assertTrue(Double.isFinite(r.loss()) && r.gradNorm() > 0, r.toString());
            }
            Map<String, Double> result = run.finish();
            assertTrue(result.get("eval_loss") < before - 0.05, before + " -> " + result);
            assertEquals(20.0, result.get("steps"));
            double again = Evaluator.evaluate(base, ad, new Objective.CausalLm(), RowBatches.inOrder(rows, 5))
                    .get("eval_loss");
            assertEquals(result.get("eval_loss"), again, 1e-6, "the adapter left in place is the reported one");
        }
    }

    @Test
    void sameSeedIsBitIdentical() {
        float[][] a = trainAndDump(12);
        float[][] b = trainAndDump(12);
        for (int i = 0; i < a.length; i++) {
            assertArrayEquals(a[i], b[i], 0f);
        }
    }

    private static float[][] trainAndDump(int steps) {
        try (Adapter ad = Adapter.create(base, lora(0.1), 3); TrialRun run = run(ad, steps, 0)) {
            while (!run.finished()) {
                run.step();
            }
            return ad.parameters().stream().map(p -> p.tensor().toFloatArray()).toArray(float[][]::new);
        }
    }

    @Test
    void resumeFromACheckpointEndsWithTheSameAdapter(@TempDir Path tmp) {
        Map<String, HostTensor> uninterrupted;
        try (Adapter ad = Adapter.create(base, lora(0.1), 5); TrialRun run = run(ad, 20, 0)) {
            while (!run.finished()) {
                run.step();
            }
            uninterrupted = ad.snapshot().tensors();
        }
        CheckpointStore store = new CheckpointStore(tmp.resolve("checkpoints"));
        try (Adapter ad = Adapter.create(base, lora(0.1), 5); TrialRun run = run(ad, 20, 0)) {
            for (int i = 0; i < 10; i++) {
                run.step();
            }
            store.save(run.checkpoint());
        }
        Checkpoint saved = CheckpointStore.load(store.latest().orElseThrow());
        assertEquals(10, saved.state().step());
        try (Adapter ad = Adapter.create(base, lora(0.1), 99); TrialRun run = run(ad, 20, 0)) {
            run.restore(saved);
            while (!run.finished()) {
                run.step();
            }
            Map<String, HostTensor> resumed = ad.snapshot().tensors();
            assertEquals(uninterrupted.keySet(), resumed.keySet());
            uninterrupted.forEach((k, v) -> assertArrayEquals(v.data(), resumed.get(k).data(), 1e-6f, k));
        }
    }

    @Test
    void aDivergingLossStopsTheTrialWithAClearError() {
        TrialRun.Settings blowUp = new TrialRun.Settings(1e30, 0, 0.9, 0.999, 1e-8, "constant", 0, 0, 1, 10, 1, 0, 0,
                0, 0, 7, "eval_loss", false);
        LoraConfig random = lora(0).toBuilder().initLoraWeights(false).build();
        try (Adapter ad = Adapter.create(base, random, 1); TrialRun run = new TrialRun(base, ad,
                new Objective.CausalLm(), blowUp, new RowBatches(rows, 3, 7), List.of(), TrainListener.NONE)) {
            NonFiniteLossException e = org.junit.jupiter.api.Assertions.assertThrows(NonFiniteLossException.class,
                    () -> {
                        for (int i = 0; i < 10; i++) {
                            run.step();
                        }
                    });
            assertTrue(e.getMessage().matches("loss is (NaN|Infinity|-Infinity) at step \\d+ .*"), e.getMessage());
        }
    }

    @Test
    void earlyStoppingEndsTheRunAfterPatienceEvaluationsWithoutImprovement() {
        // a learning rate of 0 never improves the first evaluation
        TrialRun.Settings still = new TrialRun.Settings(0, 0, 0.9, 0.999, 1e-8, "constant", 0, 0, 1, 50, 1, 1.0, 2, 0,
                3, 7, "eval_loss", false);
        try (Adapter ad = Adapter.create(base, lora(0), 1); TrialRun run = new TrialRun(base, ad,
                new Objective.CausalLm(), still, new RowBatches(rows, 3, 7), RowBatches.inOrder(rows, 4),
                TrainListener.NONE)) {
            while (!run.finished()) {
                run.step();
            }
            assertTrue(run.stoppedEarly());
            assertEquals(8, run.completedSteps(), "best at step 2, then 3 evaluations (4, 6, 8) without improvement");
            assertEquals(2, run.bestStep());
        }
    }

    @Test
    void anInterruptedCheckpointWriteLeavesTheLastGoodOne(@TempDir Path tmp) throws Exception {
        CheckpointStore store = new CheckpointStore(tmp.resolve("checkpoints"));
        try (Adapter ad = Adapter.create(base, lora(0), 5); TrialRun run = run(ad, 20, 0)) {
            run.step();
            run.step();
            store.save(run.checkpoint());
        }
        // what a kill -9 leaves behind: a staging folder, and a step folder without its state file
        java.nio.file.Files.createDirectories(tmp.resolve("checkpoints/.step-4.tmp-123/adapter"));
        java.nio.file.Files.createDirectories(tmp.resolve("checkpoints/step-4"));
        assertEquals(tmp.resolve("checkpoints/step-2"), store.latest().orElseThrow());
        assertEquals(2, CheckpointStore.load(store.latest().orElseThrow()).state().step());
    }
}
