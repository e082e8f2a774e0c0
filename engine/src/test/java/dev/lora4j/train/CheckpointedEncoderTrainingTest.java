package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import dev.lora4j.RandomModels;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Cursor;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.model.Attention;
import dev.lora4j.model.BaseModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradient_checkpointing: true} for encoders, through {@link TrialRun}: a BERT classifier with rsLoRA and a
 * RoBERTa classifier with DoRA, LoRA dropout and the model's own hidden and attention dropout, train exactly the
 * same adapter as without checkpointing, and a checkpointed run resumes exactly. ({@link CheckpointedTrainingTest}
 * does the same for Llama; {@link GradientCheckpointingTest} compares single gradients for every family.)
 */
class CheckpointedEncoderTrainingTest {
    /** Batches of 29 to 40 tokens: blocks of 16 queries make two or three per layer. */
    static final Attention.Policy BLOCKS = new Attention.Policy(16, 1024);

    /** The same four batches in a cycle; the cursor is the batch index, so a resumed run sees the same batches. */
    static final class Cycle implements BatchSource {
        private final List<Batch> batches;
        private int index;

        Cycle(List<Batch> batches) {
            this.batches = batches;
        }

        @Override
        public int batchSize() {
            return batches.get(0).rows();
        }

        @Override
        public int batchesPerEpoch() {
            return batches.size();
        }

        @Override
        public Batch next() {
            return batches.get(index++ % batches.size());
        }

        @Override
        public Cursor cursor() {
            return new Cursor(index / batches.size(), index % batches.size());
        }

        @Override
        public void seek(Cursor c) {
            index = c.epoch() * batches.size() + c.index();
        }

        @Override
        public BatchSource at(Cursor c) {
            Cycle copy = new Cycle(batches);
            copy.seek(c);
            return copy;
        }
    }

    static LoraConfig lora(boolean roberta) {
        return LoraConfig.builder().targetModules("query", "value", "dense").r(4).loraAlpha(8).loraDropout(0.1)
                .initLoraWeights(false).useRslora(!roberta).useDora(roberta).modulesToSave(List.of("classifier"))
                .build();
    }

    static BaseModel model(boolean roberta) {
        return RandomModels.build(RandomModels.bert(roberta), TaskType.SEQ_CLS, DataType.FLOAT32, 11);
    }

    static TrialRun run(BaseModel base, Adapter ad, int steps, boolean checkpointing, Attention.Policy policy) {
        // accumulation 2 and clipping: a step's gradient is the sum of two recomputed passes, then clipped
        TrialRun.Settings s = new TrialRun.Settings(5e-3, 0.01, 0.9, 0.999, 1e-8, "linear", 1, 0, 1, steps, 2, 0.5,
                0, 0, 0, 7, "eval_loss", false).withGradientCheckpointing(checkpointing);
        List<Batch> batches = IntStream.range(0, 4).mapToObj(i -> GradientCheckpointingTest.batch(TaskType.SEQ_CLS,
                base.architecture().vocabSize(), 30 + i)).toList();
        TrialRun run = new TrialRun(base, ad, Objective.of(TaskType.SEQ_CLS), s, new Cycle(batches), List.of(),
                TrainListener.NONE);
        run.attentionPolicy(policy);
        return run;
    }

    static Map<String, HostTensor> train(BaseModel base, boolean roberta, int steps, boolean checkpointing,
            Attention.Policy policy) {
        try (Adapter ad = Adapter.create(base, lora(roberta), 5);
                TrialRun run = run(base, ad, steps, checkpointing, policy)) {
            while (!run.finished()) {
                StepReport r = run.step();
                assertTrue(Double.isFinite(r.loss()), r.toString());
            }
            return ad.snapshot().tensors();
        }
    }

    static double worst(Map<String, HostTensor> a, Map<String, HostTensor> b) {
        assertEquals(a.keySet(), b.keySet());
        double worst = 0;
        for (String k : a.keySet()) {
            worst = Math.max(worst, GradientCheckpointingTest.relativeDifference(a.get(k).data(), b.get(k).data()));
        }
        return worst;
    }

    @ParameterizedTest(name = "roberta={0}")
    @ValueSource(booleans = {false, true})
    void theAdapterAfterSixStepsIsTheSameWithAndWithoutCheckpointing(boolean roberta) {
        try (BaseModel base = model(roberta)) {
            Map<String, HostTensor> plain = train(base, roberta, 6, false, Attention.Policy.WHOLE);
            // whole attention: the same kernels on the same values, so exactly the same adapter
            Map<String, HostTensor> checkpointed = train(base, roberta, 6, true, Attention.Policy.WHOLE);
            plain.forEach((k, v) -> assertArrayEquals(v.data(), checkpointed.get(k).data(), 0f, k));
            // blocks sum k's and v's gradients block by block: rounding only
            double blocks = worst(plain, train(base, roberta, 6, true, BLOCKS));
            assertTrue(blocks <= 1e-6, "checkpointed with attention blocks: relative difference " + blocks);
            // and training moved the adapter, so the comparisons above compare something
            try (Adapter ad = Adapter.create(base, lora(roberta), 5)) {
                double moved = worst(ad.snapshot().tensors(), plain);
                assertTrue(moved > 1e-3, "training moved the adapter: " + moved);
            }
        }
    }

    @ParameterizedTest(name = "roberta={0}")
    @ValueSource(booleans = {false, true})
    void aCheckpointedEncoderRunResumesExactly(boolean roberta, @TempDir Path tmp) {
        try (BaseModel base = model(roberta)) {
            Map<String, HostTensor> uninterrupted = train(base, roberta, 6, true, BLOCKS);
            CheckpointStore store = new CheckpointStore(tmp.resolve("checkpoints"));
            try (Adapter ad = Adapter.create(base, lora(roberta), 5);
                    TrialRun run = run(base, ad, 6, true, BLOCKS)) {
                run.step();
                run.step();
                store.save(run.checkpoint());
            }
            Checkpoint saved = CheckpointStore.load(store.latest().orElseThrow());
            try (Adapter ad = Adapter.create(base, lora(roberta), 99);
                    TrialRun run = run(base, ad, 6, true, BLOCKS)) {
                run.restore(saved);
                while (!run.finished()) {
                    run.step();
                }
                Map<String, HostTensor> resumed = ad.snapshot().tensors();
                uninterrupted.forEach((k, v) -> assertArrayEquals(v.data(), resumed.get(k).data(), 0f, k));
            }
        }
    }
}
