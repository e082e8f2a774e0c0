package dev.lora4j.train;

import dev.lora4j.data.Batch;
import dev.lora4j.data.Cursor;
import dev.lora4j.data.Example;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/** Test batch source over token-id rows: seeded shuffle per epoch, right padding, labels = inputs. */
final class RowBatches implements BatchSource {
    private final List<long[]> rows;
    private final int batchSize;
    private final long seed;
    private int epoch;
    private int index;
    private List<Integer> order;

    RowBatches(List<long[]> rows, int batchSize, long seed) {
        this.rows = rows;
        this.batchSize = batchSize;
        this.seed = seed;
        this.order = orderFor(0);
    }

    private List<Integer> orderFor(int e) {
        List<Integer> o = new ArrayList<>(IntStream.range(0, rows.size()).boxed().toList());
        Collections.shuffle(o, new Random(seed * 31 + e));
        return o;
    }

    @Override
    public int batchSize() {
        return batchSize;
    }

    @Override
    public int batchesPerEpoch() {
        return (rows.size() + batchSize - 1) / batchSize;
    }

    @Override
    public Batch next() {
        int from = index * batchSize;
        int[] picked = IntStream.range(from, Math.min(rows.size(), from + batchSize)).map(order::get).toArray();
        index++;
        if (index == batchesPerEpoch()) {
            index = 0;
            epoch++;
            order = orderFor(epoch);
        }
        return pad(picked, rows);
    }

    static Batch pad(int[] indices, List<long[]> rows) {
        List<Example> examples = IntStream.of(indices).mapToObj(i -> Example.causal(i + 1, rows.get(i))).toList();
        return Batch.of(indices, examples, 0);
    }

    static List<Batch> inOrder(List<long[]> rows, int batchSize) {
        List<Batch> out = new ArrayList<>();
        for (int i = 0; i < rows.size(); i += batchSize) {
            out.add(pad(IntStream.range(i, Math.min(rows.size(), i + batchSize)).toArray(), rows));
        }
        return out;
    }

    @Override
    public Cursor cursor() {
        return new Cursor(epoch, index);
    }

    @Override
    public BatchSource at(Cursor c) {
        RowBatches copy = new RowBatches(rows, batchSize, seed);
        copy.seek(c);
        return copy;
    }

    @Override
    public void seek(Cursor c) {
        epoch = c.epoch();
        index = c.index();
        order = orderFor(epoch);
    }
}
