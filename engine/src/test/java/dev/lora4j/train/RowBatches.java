package dev.lora4j.train;

import dev.lora4j.model.Losses;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

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
        List<Integer> o = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            o.add(i);
        }
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
    public MicroBatch next() {
        int from = index * batchSize;
        List<long[]> b = new ArrayList<>();
        for (int i = from; i < Math.min(rows.size(), from + batchSize); i++) {
            b.add(rows.get(order.get(i)));
        }
        index++;
        if (index == batchesPerEpoch()) {
            index = 0;
            epoch++;
            order = orderFor(epoch);
        }
        return pad(b);
    }

    static MicroBatch pad(List<long[]> b) {
        int t = b.stream().mapToInt(r -> r.length).max().orElse(1);
        int n = b.size();
        long[] ids = new long[n * t];
        long[] mask = new long[n * t];
        long[] labels = new long[n * t];
        long tokens = 0;
        for (int r = 0; r < n; r++) {
            long[] row = b.get(r);
            tokens += row.length;
            for (int j = 0; j < t; j++) {
                boolean real = j < row.length;
                ids[r * t + j] = real ? row[j] : 0;
                mask[r * t + j] = real ? 1 : 0;
                labels[r * t + j] = real ? row[j] : Losses.IGNORE;
            }
        }
        return new MicroBatch(ids, mask, null, labels, n, t, Losses.causalLmTokens(labels, n, t), tokens);
    }

    static List<MicroBatch> inOrder(List<long[]> rows, int batchSize) {
        List<MicroBatch> out = new ArrayList<>();
        for (int i = 0; i < rows.size(); i += batchSize) {
            out.add(pad(rows.subList(i, Math.min(rows.size(), i + batchSize))));
        }
        return out;
    }

    @Override
    public Cursor cursor() {
        return new Cursor(epoch, index);
    }

    @Override
    public void seek(Cursor c) {
        epoch = c.epoch();
        index = c.index();
        order = orderFor(epoch);
    }
}
