package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.Losses;
import dev.lora4j.model.ModelInput;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.util.List;

/**
 * The causal-LM loss of a whole data set: summed next-token cross-entropy over every predicted token of every row,
 * divided by the number of predicted tokens (token-weighted; padding never counts).
 */
public final class CausalLmEval {
    private CausalLmEval() {}

    /** Loss and token count over {@code rows} (token id arrays; labels equal the inputs). */
    public record Result(double loss, long tokens) {
        public double perplexity() {
            return Math.exp(loss);
        }
    }

    public static Result evaluate(BaseModel base, Adaptation adaptation, List<long[]> rows, int batchSize) {
        double sum = 0;
        long tokens = 0;
        for (int start = 0; start < rows.size(); start += batchSize) {
            List<long[]> batch = rows.subList(start, Math.min(rows.size(), start + batchSize));
            int t = batch.stream().mapToInt(r -> r.length).max().orElse(0);
            if (t < 2) {
                continue;
            }
            int b = batch.size();
            long[] ids = new long[b * t];
            long[] labels = new long[b * t];
            long[] mask = new long[b * t];
            for (int r = 0; r < b; r++) {
                long[] row = batch.get(r);
                for (int j = 0; j < t; j++) {
                    boolean real = j < row.length;
                    ids[r * t + j] = real ? row[j] : 0;
                    labels[r * t + j] = real ? row[j] : Losses.IGNORE;
                    mask[r * t + j] = real ? 1 : 0;
                }
            }
            try (GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
                Shape shape = new Shape(b, t);
                ModelInput in = new ModelInput(ops.longs(ids, shape), ops.longs(mask, shape), null);
                NDArray logits = base.architecture().forward(Forward.eval(ops, base, adaptation), in);
                sum += Losses.causalLmSum(ops, logits, ops.longs(labels, shape)).getFloat();
                tokens += Losses.causalLmTokens(labels, b, t);
            }
        }
        return new Result(tokens == 0 ? Double.NaN : sum / tokens, tokens);
    }
}
