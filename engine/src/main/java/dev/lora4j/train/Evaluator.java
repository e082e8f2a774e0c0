package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whole-set evaluation: the loss is summed over every counted item of every batch and divided once (token-weighted
 * for causal LMs), so the batch size never changes the number.
 */
public final class Evaluator {
    private Evaluator() {}

    /** {@code eval_loss}, {@code eval_tokens} and {@code eval_perplexity} or {@code eval_accuracy}. */
    public static Map<String, Double> evaluate(BaseModel base, Adaptation adaptation, Objective objective,
            List<MicroBatch> batches) {
        double sum = 0;
        long counted = 0;
        long correct = 0;
        long tokens = 0;
        try (GradMode g = GradMode.off()) {
            for (MicroBatch b : batches) {
                try (Ops ops = Ops.scope(base.manager())) {
                    NDArray out = base.architecture().forward(Forward.eval(ops, base, adaptation), b.input(ops));
                    sum += objective.lossSum(ops, out, b).getFloat();
                    correct += objective.correct(ops, out, b);
                }
                counted += b.counted();
                tokens += b.tokens();
            }
        }
        Map<String, Double> m = new LinkedHashMap<>();
        double loss = counted == 0 ? Double.NaN : sum / counted;
        m.put("eval_loss", loss);
        if (objective instanceof Objective.Classification) {
            m.put("eval_accuracy", counted == 0 ? Double.NaN : (double) correct / counted);
            m.put("eval_samples", (double) counted);
        } else {
            m.put("eval_perplexity", Math.exp(loss));
            m.put("eval_tokens", (double) counted);
        }
        return m;
    }
}
