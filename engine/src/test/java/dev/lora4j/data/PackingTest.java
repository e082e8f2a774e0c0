package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.lora4j.Fixtures;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.HfModels;
import dev.lora4j.model.Losses;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.train.Objective;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** TRL's packing: which rows go together, and a packed sequence trains as its rows would separately. */
class PackingTest {

    private static Example row(long... ids) {
        return Example.causal(1, ids);
    }

    @Test
    void bestFitDecreasingAsTrlPacks() {
        // trl.pack_dataset's own example (seq_length 4, strategy bfd), rows already truncated to 4
        List<Example> rows = List.of(row(1, 2, 3, 4), row(6, 7), row(8, 9, 10), row(11));
        List<Example> packed = Packing.bestFitDecreasing(rows, 4);
        assertEquals(3, packed.size());
        assertArrayEquals(new long[] {1, 2, 3, 4}, packed.get(0).inputIds());
        assertArrayEquals(new long[] {8, 9, 10, 11}, packed.get(1).inputIds());
        assertArrayEquals(new long[] {6, 7}, packed.get(2).inputIds());
        assertArrayEquals(new int[] {4}, packed.get(0).segments());
        assertArrayEquals(new int[] {3, 1}, packed.get(1).segments());
        assertArrayEquals(new int[] {2}, packed.get(2).segments());
        // the first token of every row is no target: nothing is predicted across a row boundary
        assertArrayEquals(new long[] {Losses.IGNORE, 9, 10, Losses.IGNORE}, packed.get(1).labels());
    }

    @Test
    void theBestFitIsTheFullestSequenceThatStillHasRoom() {
        // 7 opens A (room 3), 6 opens B (room 4), 3 goes to A (room 3 is the tightest fit), 2 and 2 go to B
        List<Example> rows = List.of(row(new long[6]), row(new long[2]), row(new long[7]), row(new long[3]),
                row(new long[2]));
        List<Example> packed = Packing.bestFitDecreasing(rows, 10);
        assertEquals(2, packed.size());
        assertArrayEquals(new int[] {7, 3}, packed.get(0).segments());
        assertArrayEquals(new int[] {6, 2, 2}, packed.get(1).segments());
    }

    @Test
    void aPackedBatchHasPositionsAndRowIdsThatRestart() {
        List<Example> packed = Packing.bestFitDecreasing(List.of(row(1, 2, 3), row(4, 5), row(6, 7, 8, 9)), 6);
        Batch b = Batch.of(new int[] {0, 1}, packed, 0);
        assertEquals(2, b.rows());
        assertEquals(6, b.length());
        // [6 7 8 9 | 4 5] and [1 2 3 | pad pad pad]
        assertArrayEquals(new long[] {0, 1, 2, 3, 0, 1, 0, 1, 2, 0, 0, 0}, b.positionIds());
        assertArrayEquals(new long[] {0, 0, 0, 0, 1, 1, 0, 0, 0, -1, -1, -1}, b.segmentIds());
        assertEquals(9, b.tokens());
        assertEquals(12, b.paddedTokens());
        // each row predicts its own tokens after the first: 3 + 1 + 2
        assertEquals(6, b.labelTokens());
        assertNull(Batch.of(new int[] {0}, List.of(row(1, 2)), 0).positionIds());
    }

    /** Llama's rotary positions, GPT-2's learned positions (wpe), GPT-NeoX's partial rotary: all restart per row. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama-s2", "tiny-gpt2", "tiny-gpt-neox"})
    void thePackedLossIsTheLossOfTheRowsTrainedSeparately(String fixture) {
        Path dir = Fixtures.root().resolve(fixture);
        List<long[]> ids = Fixtures.rows(dir.resolve("data.jsonl"));
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            long[] labels = ids.get(i).clone();
            // a prompt of three tokens whose labels do not count, as prompt/completion rows have
            Arrays.fill(labels, 0, Math.min(3, labels.length), Losses.IGNORE);
            rows.add(new Example(i + 1, ids.get(i), labels, null, -1));
        }
        List<Example> packed = Packing.bestFitDecreasing(rows, 64);
        assertTrue(packed.size() < rows.size() / 2, "rows of 2 to 40 tokens fit in a few sequences of 64");
        Batch separate = Batch.of(IntStream.range(0, rows.size()).toArray(), rows, 0);
        Batch together = Batch.of(IntStream.range(0, packed.size()).toArray(), packed, 0);
        assertEquals(separate.labelTokens(), together.labelTokens());
        assertEquals(separate.tokens(), together.tokens());
        assertTrue(together.paddedTokens() < separate.paddedTokens() * 0.75,
                together.paddedTokens() + " padded tokens packed, " + separate.paddedTokens() + " separately");
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter adapter = PeftAdapters.load(base, dir.resolve("adapters/dora"), false).adapter()) {
            double alone = meanLoss(base, adapter, separate, 0);
            double whole = meanLoss(base, adapter, together, 0);
            double blocks = meanLoss(base, adapter, together, 16);
            assertEquals(alone, whole, 1e-5 * alone, "packed, attention whole");
            assertEquals(alone, blocks, 1e-5 * alone, "packed, attention in blocks of 16");
            // the same sequences without the row boundaries see each other: another loss
            Batch leaky = new Batch(together.rowIndices(), together.rows(), together.length(), together.inputIds(),
                    together.attentionMask(), together.labels(), null, null, together.labelTokens());
            assertTrue(Math.abs(meanLoss(base, adapter, leaky, 0) - alone) > 1e-3 * alone,
                    "without positions and row ids the rows attend to each other");
        }
    }

    private static double meanLoss(BaseModel base, Adapter adapter, Batch b, int block) {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
            Forward f = Forward.eval(ops, base, adapter).withMemory(null, block);
            NDArray out = base.architecture().forward(f, b.modelInput(ops));
            return new Objective.CausalLm().lossSum(ops, out, b).getFloat() / b.labelTokens();
        }
    }
}
