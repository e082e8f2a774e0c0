package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Example;
import dev.lora4j.data.Packing;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.train.GradientCheckpointingTest.Pass;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gemma and Gemma 2 in training: attention in query blocks (Gemma 2's soft-capped scores and sliding window computed
 * block by block) and gradient checkpointing give the logits and gradients of the whole-matrix pass, and an adapter
 * trained here (PEFT's default targets) round-trips through PEFT's file format; packed rows keep their own losses.
 */
class GemmaTrainingTest {
    /** Queries per block: the fixture's rows of up to 20 tokens make five blocks, more than Gemma 2's window of 6. */
    static final int BLOCK = 4;

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void blocksAndCheckpointingAreTheSameFunctionAndGradients(String family) {
        Path dir = Fixtures.tiny(family);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter adapter = PeftAdapters.load(base, dir.resolve("adapters/dora"), true).adapter()) {
            Batch batch = RowBatches.pad(IntStream.range(0, rows.size()).toArray(), rows);
            try (GradMode g = GradMode.off(); Ops ops = Ops.scope(adapter.manager())) {
                float[] whole = base.architecture().forward(Forward.eval(ops, base, adapter), batch.modelInput(ops))
                        .toFloatArray();
                float[] blocks = base.architecture().forward(Forward.eval(ops, base, adapter)
                        .withMemory(null, BLOCK), batch.modelInput(ops)).toFloatArray();
                // at real tokens only: a padded query whose window holds only padding sees every key hidden, and
                // which hidden keys it then averages over depends on the keys a block computes (its output is unused)
                double rel = GradientCheckpointingTest.relativeDifference(realTokens(whole, batch),
                        realTokens(blocks, batch));
                assertTrue(rel <= 1e-6, "logits in blocks of " + BLOCK + ": relative difference " + rel);
            }
            Objective objective = Objective.of(TaskType.CAUSAL_LM);
            Map<String, float[]> plain = GradientCheckpointingTest.gradients(base, adapter, objective, batch,
                    Pass.PLAIN, BLOCK);
            assertTrue(plain.values().stream().allMatch(v -> GradientCheckpointingTest.maxAbs(v) > 1e-6),
                    "every trainable tensor has a gradient");
            GradientCheckpointingTest.assertSame(plain, GradientCheckpointingTest.gradients(base, adapter, objective,
                    batch, Pass.CHECKPOINTED_WHOLE, BLOCK), 0, Pass.CHECKPOINTED_WHOLE);
            for (Pass pass : List.of(Pass.BLOCKS, Pass.CHECKPOINTED)) {
                Map<String, float[]> blocked = GradientCheckpointingTest.gradients(base, adapter, objective, batch,
                        pass, BLOCK);
                double worst = plain.keySet().stream().mapToDouble(k -> GradientCheckpointingTest.relativeDifference(
                        plain.get(k), blocked.get(k))).max().orElseThrow();
                // blocks sum k's and v's gradients over five blocks here: rounding, measured up to 1.1e-6
                assertTrue(worst <= 3e-6, pass + ": relative difference " + worst);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void packedRowsHaveTheLossOfTheRowsAlone(String family) {
        // position ids restart per packed row, rows attend only to themselves, and Gemma 2's window counts positions
        // within the packed sequence, which are the row's own
        Path dir = Fixtures.tiny(family);
        List<long[]> ids = Fixtures.rows(dir.resolve("data.jsonl"));
        List<Example> rows = IntStream.range(0, ids.size()).mapToObj(i -> Example.causal(i + 1, ids.get(i))).toList();
        List<Example> packed = Packing.bestFitDecreasing(rows, 32);
        assertTrue(packed.size() < rows.size(), "rows of 2 to 20 tokens share sequences of 32");
        Batch separate = Batch.of(IntStream.range(0, rows.size()).toArray(), rows, 0);
        Batch together = Batch.of(IntStream.range(0, packed.size()).toArray(), packed, 0);
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter adapter = PeftAdapters.load(base, dir.resolve("adapters/rslora"), false).adapter()) {
            double alone = CausalLmEval.evaluate(base, adapter, List.of(separate).iterator()).loss();
            double inPacks = CausalLmEval.evaluate(base, adapter, List.of(together).iterator()).loss();
            assertEquals(alone, inPacks, 1e-6 * alone);
        }
    }

    /** The logits {@code (B, T, vocab)} of the positions that hold a token. */
    static float[] realTokens(float[] logits, Batch batch) {
        long[] mask = batch.attentionMask();
        int vocab = logits.length / mask.length;
        float[] out = new float[(int) Arrays.stream(mask).sum() * vocab];
        int at = 0;
        for (int p = 0; p < mask.length; p++) {
            if (mask[p] != 0) {
                System.arraycopy(logits, p * vocab, out, at, vocab);
                at += vocab;
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "gemma2"})
    void anAdapterTrainedOnPeftsDefaultTargetsRoundTrips(String family, @TempDir Path tmp) throws IOException {
        Path dir = Fixtures.tiny(family);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        // no target_modules: PEFT's default for gemma and gemma2 (q_proj, v_proj)
        LoraConfig lora = LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.05).build();
        try (BaseModel base = HfModels.load(dir.resolve("model"))) {
            double before = CausalLmEval.evaluate(base, Adaptation.NONE, rows, 3).loss();
            double trained;
            try (Adapter ad = Adapter.create(base, lora, 5)) {
                TrialRun.Settings s = new TrialRun.Settings(2e-2, 0.0, 0.9, 0.999, 1e-8, "constant", 0, 0, 1, 6, 1,
                        1.0, 0, 0, 0, 7, "eval_loss", false);
                try (TrialRun run = new TrialRun(base, ad, new Objective.CausalLm(), s, new RowBatches(rows, 3, 7),
                        List.of(), TrainListener.NONE)) {
                    while (!run.finished()) {
                        assertTrue(Double.isFinite(run.step().loss()));
                    }
                }
                trained = CausalLmEval.evaluate(base, ad, rows, 3).loss();
                PeftAdapters.save(ad, tmp.resolve("saved"));
            }
            assertTrue(trained < before - 1e-3, "training lowered the loss: " + before + " -> " + trained);
            String config = Files.readString(tmp.resolve("saved").resolve(PeftAdapters.CONFIG));
            assertTrue(config.replaceAll("\\s", "").contains("\"target_modules\":[\"q_proj\",\"v_proj\"]"), config);
            try (Adapter loaded = PeftAdapters.load(base, tmp.resolve("saved"), false).adapter()) {
                assertEquals(trained, CausalLmEval.evaluate(base, loaded, rows, 3).loss(), 1e-12);
            }
        }
    }
}
