package dev.lora4j.train;

import dev.lora4j.data.Batch;
import dev.lora4j.data.Example;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The causal-LM loss of a whole data set: summed next-token cross-entropy over every predicted token of every row,
 * divided by the number of predicted tokens (token-weighted; padding and {@code -100} labels never count).
 */
public final class CausalLmEval {
    private CausalLmEval() {}

    /** Loss and token count over {@code rows} (token id arrays; labels equal the inputs). */
    public record Result(double loss, long tokens) {
        public double perplexity() {
            return Math.exp(loss);
        }
    }

    /** Over token id rows whose labels are the inputs, in order, padded with id 0. */
    public static Result evaluate(BaseModel base, Adaptation adaptation, List<long[]> rows, int batchSize) {
        List<Batch> batches = new ArrayList<>();
        for (int start = 0; start < rows.size(); start += batchSize) {
            int[] indices = IntStream.range(start, Math.min(rows.size(), start + batchSize)).toArray();
            List<Example> examples = IntStream.of(indices).mapToObj(i -> Example.causal(i + 1, rows.get(i))).toList();
            batches.add(Batch.of(indices, examples, 0));
        }
        return evaluate(base, adaptation, batches.iterator());
    }

    /** Over causal-LM batches (e.g. {@code Batches.evaluation(data, n)}). */
    public static Result evaluate(BaseModel base, Adaptation adaptation, Iterator<Batch> batches) {
        Map<String, Double> m = Evaluator.evaluate(base, adaptation, new Objective.CausalLm(), batches);
        return new Result(m.get("eval_loss"), (long) (double) m.get("eval_tokens"));
    }
}
