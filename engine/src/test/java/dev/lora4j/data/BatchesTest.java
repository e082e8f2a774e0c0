package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.ModelInput;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchesTest {
    private static final long I = -100;

    @TempDir
    Path dir;

    /** Ten pre-tokenised rows; row r has r+1 tokens, all equal to 100 + r. */
    private TokenizedDataset tenRows() throws IOException {
        String rows = IntStream.range(0, 10).mapToObj(r -> "{\"input_ids\": "
                + IntStream.rangeClosed(0, r).mapToObj(j -> Integer.toString(100 + r))
                        .collect(Collectors.joining(", ", "[", "]")) + "}")
                .collect(Collectors.joining("\n"));
        Path f = Files.writeString(dir.resolve("rows.jsonl"), rows);
        TestTokenizers.llama(dir.resolve("tok"));
        try (Tokenizer t = Tokenizer.load(dir.resolve("tok"))) {
            return TokenizedDataset.build(f, t, DataOptions.of(TaskType.CAUSAL_LM));
        }
    }

    private static List<int[]> take(Batches b, int n) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(b.next().rowIndices());
        }
        return out;
    }

    @Test
    void shufflingIsAFunctionOfSeedAndEpoch() {
        BatchPlan plan = BatchPlan.shuffled(100, 8, 42);
        int[] e0 = plan.order(0);
        assertArrayEquals(e0, BatchPlan.shuffled(100, 8, 42).order(0), "same seed, same epoch");
        assertArrayEquals(IntStream.range(0, 100).toArray(), IntStream.of(e0).sorted().toArray(), "a permutation");
        assertFalse(Arrays.equals(IntStream.range(0, 100).toArray(), e0), "shuffled");
        assertFalse(Arrays.equals(e0, plan.order(1)), "another epoch, another order");
        assertFalse(Arrays.equals(e0, BatchPlan.shuffled(100, 8, 43).order(0)), "another seed, another order");
        // pinned: the order must not change between JVMs or releases, or resumed runs would diverge
        assertArrayEquals(new int[] {1, 3, 0, 4, 2}, BatchPlan.shuffled(5, 2, 42).order(0));
        assertArrayEquals(new int[] {5, 4, 1, 2, 9, 0, 6, 7, 8, 3}, BatchPlan.shuffled(10, 2, 42).order(3));
        assertArrayEquals(IntStream.range(0, 100).toArray(), BatchPlan.inOrder(100, 8).order(5));
    }

    @Test
    void theLastPartialBatchIsKept() {
        BatchPlan plan = BatchPlan.inOrder(10, 4);
        assertEquals(3, plan.batchesPerEpoch());
        int[] order = plan.order(0);
        assertArrayEquals(new int[] {0, 1, 2, 3}, plan.batch(order, 0));
        assertArrayEquals(new int[] {8, 9}, plan.batch(order, 2));
    }

    @Test
    void aBatchLargerThanTheDataIsOneBatchOfEveryRow() throws IOException {
        // transformers' drop_last=False; (rows + batchSize - 1) overflowed to 0 batches for Integer.MAX_VALUE
        for (int size : new int[] {11, 1 << 30, Integer.MAX_VALUE - 5, Integer.MAX_VALUE}) {
            BatchPlan plan = BatchPlan.shuffled(10, size, 3);
            assertEquals(1, plan.batchesPerEpoch(), "batch size " + size);
            assertEquals(10, plan.batch(plan.order(0), 0).length, "batch size " + size);
        }
        assertEquals(2, BatchPlan.inOrder(Integer.MAX_VALUE, Integer.MAX_VALUE - 1).batchesPerEpoch());
        Batches b = Batches.training(tenRows(), Integer.MAX_VALUE, 7);
        assertEquals(10, take(b, 2).get(1).length, "every step takes all ten rows, epoch after epoch");
    }

    @Test
    void resumingFromACursorGivesTheSameBatches() throws IOException {
        TokenizedDataset data = tenRows();
        // 3 batches an epoch (4, 4, 2): 7 batches cross two epoch boundaries
        List<int[]> straight = take(Batches.training(data, 4, 7), 7);
        Batches first = Batches.training(data, 4, 7);
        take(first, 3);
        Cursor saved = first.cursor();
        assertEquals(new Cursor(1, 0), saved);
        List<int[]> resumed = take(Batches.training(data, 4, 7, saved), 4);
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(straight.get(3 + i), resumed.get(i), "batch " + (4 + i));
        }
        assertEquals(2, straight.get(2).length);
        assertNotEquals(Arrays.toString(straight.get(0)), Arrays.toString(straight.get(3)));
    }

    @Test
    void aCursorFromAnotherPlanIsRefused() throws IOException {
        TokenizedDataset data = tenRows();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Batches.training(data, 4, 7, new Cursor(0, 3)));
        assertEquals("cursor Cursor[epoch=0, index=3] is past the 3 batches of an epoch of 10 rows in batches of 4;"
                + " was it saved for another data set or batch size?", e.getMessage());
    }

    @Test
    void evaluationIsOnePassInFileOrder() throws IOException {
        Batches eval = Batches.evaluation(tenRows(), 4);
        List<int[]> all = new ArrayList<>();
        eval.forEachRemaining(b -> all.add(b.rowIndices()));
        assertEquals(List.of("[0, 1, 2, 3]", "[4, 5, 6, 7]", "[8, 9]"),
                all.stream().map(Arrays::toString).toList());
        assertFalse(eval.hasNext());
        assertThrows(NoSuchElementException.class, eval::next);
    }

    @Test
    void paddingMaskAndLabels() throws IOException {
        TokenizedDataset data = tenRows();
        Batch b = data.batch(new int[] {2, 0, 1});
        assertEquals(3, b.rows());
        assertEquals(3, b.length());
        long p = data.padId();
        assertArrayEquals(new long[] {102, 102, 102, 100, p, p, 101, 101, p}, b.inputIds());
        assertArrayEquals(new long[] {1, 1, 1, 1, 0, 0, 1, 1, 0}, b.attentionMask());
        assertArrayEquals(new long[] {102, 102, 102, 100, I, I, 101, 101, I}, b.labels());
        assertNull(b.tokenTypes());
        assertNull(b.classLabels());
        assertEquals(2 + 0 + 1, b.labelTokens(), "next-token targets: position 0 predicts nothing");
    }

    @Test
    void ignoredLabelsSurviveBatching() {
        Example a = new Example(1, new long[] {5, 6, 7}, new long[] {I, 6, 7}, null, -1);
        Example b = new Example(2, new long[] {8}, new long[] {8}, null, -1);
        Batch batch = Batch.of(new int[] {0, 1}, List.of(a, b), 0);
        assertArrayEquals(new long[] {I, 6, 7, 8, I, I}, batch.labels());
        assertEquals(2, batch.labelTokens());
    }

    /** Two SEQ_CLS rows: class 1 with token types, class 0 shorter and without. */
    private static Batch classificationBatch() {
        Example a = new Example(1, new long[] {2, 4, 3}, null, new long[] {0, 1, 1}, 1);
        Example b = new Example(2, new long[] {2, 3}, null, null, 0);
        return Batch.of(new int[] {0, 1}, List.of(a, b), 0);
    }

    @Test
    void classificationBatchesCarryClassIdsAndTokenTypes() {
        Batch batch = classificationBatch();
        assertNull(batch.labels());
        assertArrayEquals(new long[] {1, 0}, batch.classLabels());
        assertArrayEquals(new long[] {0, 1, 1, 0, 0, 0}, batch.tokenTypes());
        assertArrayEquals(new long[] {2, 4, 3, 2, 3, 0}, batch.inputIds());
        assertEquals(2, batch.labelTokens());
    }

    @Test
    void batchesBecomeTensors() {
        Batch batch = classificationBatch();
        try (NDManager root = Torch.newManager(ai.djl.Device.cpu()); Ops ops = Ops.scope(root)) {
            ModelInput in = batch.modelInput(ops);
            assertEquals(new Shape(2, 3), in.inputIds().getShape());
            assertEquals(DataType.INT64, in.inputIds().getDataType());
            assertArrayEquals(batch.attentionMask(), in.attentionMask().toLongArray());
            assertArrayEquals(batch.tokenTypes(), in.tokenTypeIds().toLongArray());
            assertArrayEquals(new long[] {1, 0}, batch.classLabelArray(ops).toLongArray());
            assertTrue(in.inputIds().getManager() == ops.manager(), "owned by the scope");
            assertThrows(IllegalStateException.class, () -> batch.labelArray(ops));
        }
    }
}
