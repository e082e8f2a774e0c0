package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.MergedWeights;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Training GPT-2 (LoRA and DoRA on its Conv1D layers, dropout on) and GPT-NeoX (on the fused query_key_value):
 * the loss falls, the adapter round-trips through PEFT's files with the same loss, merging it gives the same
 * model, and attention in blocks and gradient checkpointing give the same logits and gradients.
 */
class GptTrainingTest {

    @ParameterizedTest(name = "{0} dora={1}")
    @CsvSource({"gpt2,false", "gpt2,true", "gpt-neox,false", "gpt-neox,true"})
    void trainedAdapterRoundTripsThroughPeftFiles(String family, boolean dora, @TempDir Path tmp) {
        List<long[]> rows = Fixtures.rows(Fixtures.tiny(family).resolve("data.jsonl"));
        LoraConfig config = LoraConfig.builder().targetModulesRegex("all-linear").r(4).loraAlpha(8).loraDropout(0.1)
                .useDora(dora).build();
        TrialRun.Settings settings = new TrialRun.Settings(1e-2, 0.0, 0.9, 0.999, 1e-8, "constant", 0, 0, 1, 12, 1,
                1.0, 0, 0, 0, 7, "eval_loss", false);
        try (BaseModel base = HfModels.load(Fixtures.tiny(family).resolve("model"));
                Adapter ad = Adapter.create(base, config, 3);
                TrialRun run = new TrialRun(base, ad, new Objective.CausalLm(), settings, new RowBatches(rows, 3, 7),
                        RowBatches.inOrder(rows, 4), TrainListener.NONE)) {
            double before = CausalLmEval.evaluate(base, ad, rows, 4).loss();
            while (!run.finished()) {
                run.step();
            }
            double after = CausalLmEval.evaluate(base, ad, rows, 4).loss();
            assertTrue(after < before - 0.05, family + ": " + before + " -> " + after);
            Path saved = tmp.resolve("adapter");
            PeftAdapters.save(ad, saved);
            try (Adapter loaded = PeftAdapters.load(base, saved, false).adapter()) {
                assertEquals(after, CausalLmEval.evaluate(base, loaded, rows, 4).loss(), after * 1e-7,
                        "the saved adapter");
                assertEquals(family.equals("gpt2"), loaded.config().fanInFanOut(), "fan_in_fan_out as saved");
            }
            try (MergedWeights mw = MergedWeights.of(ad).merge(true); BaseModel merged = mw.asBaseModel()) {
                assertEquals(after, CausalLmEval.evaluate(merged, Adaptation.NONE, rows, 4).loss(), after * 1e-6,
                        "merged");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt-neox"})
    void blocksAndCheckpointingGiveTheSameLogitsAndGradients(String family) {
        List<long[]> rows = Fixtures.rows(Fixtures.tiny(family).resolve("data.jsonl"));
        try (BaseModel base = HfModels.load(Fixtures.tiny(family).resolve("model"));
                Adapter adapter = PeftAdapters.load(base, Fixtures.tiny(family).resolve("adapters/rslora"), true).adapter()) {
            Batch batch = RowBatches.pad(IntStream.range(0, rows.size()).toArray(), rows);
            try (GradMode g = GradMode.off(); Ops ops = Ops.scope(adapter.manager())) {
                float[] whole = base.architecture().forward(Forward.eval(ops, base, adapter), batch.modelInput(ops))
                        .toFloatArray();
                float[] blocks = base.architecture().forward(Forward.eval(ops, base, adapter)
                        .withMemory(null, GradientCheckpointingTest.BLOCK), batch.modelInput(ops)).toFloatArray();
                double rel = GradientCheckpointingTest.relativeDifference(whole, blocks);
                assertTrue(rel <= 1e-6, "logits in blocks: relative difference " + rel);
            }
            Objective objective = Objective.of(TaskType.CAUSAL_LM);
            int block = GradientCheckpointingTest.BLOCK;
            Map<String, float[]> plain = GradientCheckpointingTest.gradients(base, adapter, objective, batch,
                    GradientCheckpointingTest.Pass.PLAIN, block);
            GradientCheckpointingTest.assertSame(plain, GradientCheckpointingTest.gradients(base, adapter, objective,
                    batch, GradientCheckpointingTest.Pass.CHECKPOINTED, block), 1e-6,
                    GradientCheckpointingTest.Pass.CHECKPOINTED);
        }
    }
}
