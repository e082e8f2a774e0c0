package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.TaskType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** transformers' {@code group_by_length} ({@code get_length_grouped_indices}) on lora4j's shuffled order. */
class LengthGroupingTest {

    @Test
    void megaBatchesSortedLongestFirstAndTheLongestRowInFront() {
        // 10 rows, batch 2: min(10 // 8, 50) = 1 batch per mega-batch
        int[] lengths = {3, 1, 9, 4, 7, 2, 8, 5, 6, 0};
        int[] order = IntStream.range(0, 10).toArray();
        // mega-batches [0 1] [2 3] [4 5] [6 7] [8 9] sorted by length: [0 1] [2 3] [4 5] [6 7] [8 9]; the longest
        // (row 2, 9 tokens) heads the second: swapped with the first mega-batch's head
        assertArrayEquals(new int[] {2, 1, 0, 3, 4, 5, 6, 7, 8, 9}, Batches.groupByLength(order, lengths, 2));
        // a stable sort: equal lengths keep the shuffled order
        assertArrayEquals(new int[] {3, 1, 2, 0}, Batches.groupByLength(new int[] {3, 1, 2, 0},
                new int[] {5, 5, 5, 5}, 1));
    }

    @Test
    void largerSetsUseMegaBatchesOfUpToFiftyBatches() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 1000;
        int[] lengths = IntStream.range(0, n).map(i -> 1 + r.nextInt(500)).toArray();
        int[] order = BatchPlan.shuffled(n, 4, 9).order(0);
        int[] grouped = Batches.groupByLength(order, lengths, 4);
        assertEquals(Arrays.stream(order).sorted().boxed().toList(), Arrays.stream(grouped).sorted().boxed().toList());
        // min(1000 // 16, 50) = 50 batches: mega-batches of 200 rows, each sorted longest first (the first one's head
        // swapped with the longest row's)
        for (int from = 0; from < n; from += 200) {
            for (int i = from + 2; i < from + 200; i++) {
                assertTrue(lengths[grouped[i - 1]] >= lengths[grouped[i]], "sorted at " + i);
            }
        }
        assertEquals(Arrays.stream(lengths).max().orElseThrow(), lengths[grouped[0]]);
        assertTrue(padded(grouped, lengths, 4) < 0.7 * padded(order, lengths, 4),
                "grouping saves padding: " + padded(grouped, lengths, 4) + " against " + padded(order, lengths, 4));
    }

    /** rows x longest row, summed over the batches: what a batch computes over. */
    private static long padded(int[] order, int[] lengths, int batch) {
        long total = 0;
        for (int from = 0; from < order.length; from += batch) {
            int longest = 0;
            int to = Math.min(order.length, from + batch);
            for (int i = from; i < to; i++) {
                longest = Math.max(longest, lengths[order[i]]);
            }
            total += (long) longest * (to - from);
        }
        return total;
    }

    @Test
    void groupedTrainingBatchesResumeExactly(@TempDir Path dir) throws IOException {
        String rows = IntStream.range(0, 40).mapToObj(r -> "{\"input_ids\": "
                + IntStream.rangeClosed(0, (r * 7) % 13).mapToObj(j -> Integer.toString(100 + r))
                        .collect(Collectors.joining(", ", "[", "]")) + "}").collect(Collectors.joining("\n"));
        Path f = Files.writeString(dir.resolve("rows.jsonl"), rows);
        TestTokenizers.llama(dir.resolve("tok"));
        TokenizedDataset data;
        try (Tokenizer t = Tokenizer.load(dir.resolve("tok"))) {
            data = TokenizedDataset.build(f, t, DataOptions.of(TaskType.CAUSAL_LM));
        }
        Batches straight = Batches.training(data, 4, 7, Cursor.START, true);
        List<int[]> all = new ArrayList<>();
        long padded = 0;
        for (int i = 0; i < 15; i++) {
            Batch b = straight.next();
            all.add(b.rowIndices());
            padded += b.paddedTokens();
        }
        Batches ungrouped = Batches.training(data, 4, 7, Cursor.START, false);
        long plain = 0;
        for (int i = 0; i < 10; i++) {
            plain += ungrouped.next().paddedTokens();
        }
        long firstEpoch = 0;
        Batches again = Batches.training(data, 4, 7, Cursor.START, true);
        for (int i = 0; i < 10; i++) {
            firstEpoch += again.next().paddedTokens();
        }
        assertTrue(firstEpoch < plain, "grouped " + firstEpoch + " padded tokens an epoch, shuffled " + plain);
        Batches resumed = Batches.training(data, 4, 7, new Cursor(1, 2), true);
        for (int i = 12; i < 15; i++) {
            assertArrayEquals(all.get(i), resumed.next().rowIndices(), "batch " + i);
        }
        assertTrue(padded > 0);
    }
}
