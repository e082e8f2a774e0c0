package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import dev.lora4j.Fixtures;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.Parameter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * fp16 training as transformers + PEFT do it on a GPU, run here on the CPU (libtorch has fp16 CPU kernels, slow but
 * exact enough for a tiny model): an fp16 base, float32 adapter weights, dynamic loss scaling.
 */
class MixedPrecisionTest {
    static BaseModel half;
    static BaseModel full;
    static List<long[]> rows;

    @BeforeAll
    static void load() {
        Path dir = Fixtures.tinyLlama("s2");
        half = HfModels.load(dir.resolve("model"), HfModels.Options.cpu().withDataType(DataType.FLOAT16));
        full = HfModels.load(dir.resolve("model"));
        rows = Fixtures.rows(dir.resolve("data.jsonl"));
    }

    @AfterAll
    static void close() {
        half.close();
        full.close();
    }

    static LoraConfig lora() {
        return LoraConfig.builder().targetModules("q_proj", "v_proj", "down_proj").r(4).loraAlpha(8)
                .loraDropout(0.1).modulesToSave(List.of("lm_head")).build();
    }

    static TrialRun.Settings settings(int maxSteps) {
        return new TrialRun.Settings(5e-3, 0.01, 0.9, 0.999, 1e-8, "linear", 2, 0, 1, maxSteps, 2, 1.0, 0, 0, 0, 7,
                "eval_loss", false);
    }

    static TrialRun run(BaseModel base, Adapter ad, int maxSteps) {
        return new TrialRun(base, ad, new Objective.CausalLm(), settings(maxSteps), new RowBatches(rows, 3, 7),
                List.of(), TrainListener.NONE);
    }

    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({"s2,qv", "s2,dora", "s3,rslora-all-linear", "s3,dora", "s3,patterns"})
    void fp16ComputeReproducesTheFp32ReferenceLosses(String variant, String adapter) {
        Path dir = Fixtures.tinyLlama(variant);
        double expected = Fixtures.expected(variant).get(adapter).asDouble();
        try (BaseModel base = HfModels.load(dir.resolve("model"),
                HfModels.Options.cpu().withDataType(DataType.FLOAT16));
                Adapter ad = PeftAdapters.load(base, dir.resolve("adapters").resolve(adapter), false).adapter()) {
            double loss = CausalLmEval.evaluate(base, ad, Fixtures.rows(dir.resolve("data.jsonl")), 4).loss();
            // measured: 1e-5 to 3e-4 relative
            assertEquals(expected, loss, expected * 1e-3, "fp16 within fp16's precision of the fp32 reference");
        }
    }

    @Test
    void trainableWeightsAreFloat32MastersOverTheFp16Base() {
        try (Adapter ad = Adapter.create(half, lora(), 1)) {
            assertEquals(DataType.FLOAT16, half.weight("lm_head.weight").getDataType());
            for (Parameter p : ad.trainableParameters()) {
                assertEquals(DataType.FLOAT32, p.tensor().getDataType(), p.name());
            }
            assertTrue(ad.trainableParameters().stream().anyMatch(p -> p.name().contains("modules_to_save")));
        }
    }

    @Test
    void fp16TrainingTracksFp32Training() {
        float[][] f16;
        float[][] f32;
        double lossBefore;
        double lossAfter;
        try (Adapter ad = Adapter.create(half, lora(), 3); TrialRun run = run(half, ad, 10)) {
            assertEquals(LossScaler.INIT_SCALE, run.lossScaler().orElseThrow().scale());
            lossBefore = CausalLmEval.evaluate(half, ad, rows, 4).loss();
            while (!run.finished()) {
                StepReport r = run.step();
                assertTrue(Double.isFinite(r.gradNorm()), "no overflow at 2^16 on this model: " + r);
            }
            assertEquals(0, run.skippedSteps());
            lossAfter = CausalLmEval.evaluate(half, ad, rows, 4).loss();
            f16 = dump(ad);
        }
        assertTrue(lossAfter < lossBefore - 0.05, lossBefore + " -> " + lossAfter);
        try (Adapter ad = Adapter.create(full, lora(), 3); TrialRun run = run(full, ad, 10)) {
            assertTrue(run.lossScaler().isEmpty(), "fp32 trains unscaled");
            while (!run.finished()) {
                run.step();
            }
            f32 = dump(ad);
        }
        for (int i = 0; i < f16.length; i++) {
            double maxDiff = 0;
            double maxAbs = 0;
            for (int j = 0; j < f16[i].length; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(f16[i][j] - f32[i][j]));
                maxAbs = Math.max(maxAbs, Math.abs(f32[i][j]));
            }
            // measured: at most 0.8% of the largest weight after 10 steps
            assertTrue(maxAbs > 0 && maxDiff < 0.02 * maxAbs, "parameter " + i + ": " + maxDiff + " of " + maxAbs);
        }
    }

    @Test
    void overflowSkipsTheUpdateHalvesTheScaleAndHoldsTheSchedule() {
        try (Adapter ad = Adapter.create(half, lora(), 3); TrialRun run = run(half, ad, 40)) {
            LossScaler scaler = new LossScaler(Math.scalb(1.0, 40), 3);
            run.lossScaler(scaler);
            int skipped = 0;
            int good = 0;
            while (!run.finished()) {
                float[][] before = dump(ad);
                double scaleBefore = scaler.scale();
                StepReport r = run.step();
                float[][] after = dump(ad);
                if (Double.isNaN(r.gradNorm())) {
                    skipped++;
                    assertEquals(scaleBefore / 2, scaler.scale(), "overflow halves the scale at step " + r.step());
                    for (int i = 0; i < before.length; i++) {
                        assertArrayEquals(before[i], after[i], 0f, "a skipped step changes nothing");
                    }
                } else {
                    good++;
                    if (good == 1) {
                        assertTrue(r.step() > 1, "2^40 overflows fp16 gradients");
                        assertEquals(0.0, r.learningRate(), "skipped steps do not advance the warmup");
                    } else {
                        assertTrue(java.util.stream.IntStream.range(0, before.length)
                                .anyMatch(i -> !java.util.Arrays.equals(before[i], after[i])), "step " + r.step());
                    }
                }
            }
            assertEquals(40, run.completedSteps(), "skipped steps count as steps, as in transformers");
            assertEquals(skipped, run.skippedSteps());
            assertTrue(skipped >= 10 && good >= 10, skipped + " skipped, " + good + " taken");
        }
    }

    @Test
    void resumeRestoresTheLossScale(@TempDir Path tmp) {
        Map<String, HostTensor> uninterrupted;
        long skipped;
        double scale;
        try (Adapter ad = Adapter.create(half, lora(), 5); TrialRun run = run(half, ad, 20)) {
            run.lossScaler(new LossScaler(Math.scalb(1.0, 23), 3));
            while (!run.finished()) {
                run.step();
            }
            uninterrupted = ad.snapshot().tensors();
            skipped = run.skippedSteps();
            scale = run.lossScaler().orElseThrow().scale();
        }
        assertTrue(skipped > 0, "the scale starts high enough to overflow");
        CheckpointStore store = new CheckpointStore(tmp.resolve("checkpoints"));
        try (Adapter ad = Adapter.create(half, lora(), 5); TrialRun run = run(half, ad, 20)) {
            run.lossScaler(new LossScaler(Math.scalb(1.0, 23), 3));
            for (int i = 0; i < 10; i++) {
                run.step();
            }
            store.save(run.checkpoint());
        }
        Checkpoint saved = CheckpointStore.load(store.latest().orElseThrow());
        assertTrue(saved.state().lossScale() != null);
        try (Adapter ad = Adapter.create(half, lora(), 99); TrialRun run = run(half, ad, 20)) {
            // the same scaler settings, but its initial scale is replaced by the saved one
            run.lossScaler(new LossScaler(1, 3));
            run.restore(saved);
            while (!run.finished()) {
                run.step();
            }
            assertEquals(skipped, run.skippedSteps());
            assertEquals(scale, run.lossScaler().orElseThrow().scale());
            Map<String, HostTensor> resumed = ad.snapshot().tensors();
            uninterrupted.forEach((k, v) -> assertArrayEquals(v.data(), resumed.get(k).data(), 1e-6f, k));
        }
    }

    @Test
    void lossScalerFollowsGradScalersRules() {
        LossScaler s = LossScaler.dynamic();
        assertEquals(65536.0, s.scale());
        s.update(false);
        assertEquals(32768.0, s.scale());
        for (int i = 0; i < 1999; i++) {
            s.update(true);
        }
        assertEquals(32768.0, s.scale());
        assertEquals(1999, s.growthTracker());
        s.update(true);
        assertEquals(65536.0, s.scale(), "2000 good steps in a row double it");
        assertEquals(0, s.growthTracker());
        s.update(true);
        s.update(false);
        assertEquals(0, s.growthTracker(), "an overflow resets the run of good steps");
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(0, 10));
    }

    private static float[][] dump(Adapter ad) {
        return ad.trainableParameters().stream().map(p -> p.tensor().toFloatArray()).toArray(float[][]::new);
    }
}
