package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import dev.lora4j.data.Batch;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.Attention;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whole-set evaluation: the loss is summed over every counted label of every batch and divided once
 * (token-weighted for causal LMs; padding and {@code -100} never count), so the batch size never changes the number.
 */
public final class Evaluator {
    private Evaluator() {}

    public static Map<String, Double> evaluate(BaseModel base, Adaptation adaptation, Objective objective,
            List<Batch> batches) {
        return evaluate(base, adaptation, objective, batches.iterator());
    }

    /** {@code eval_loss} plus {@code eval_perplexity}/{@code eval_tokens} or {@code eval_accuracy}/{@code eval_samples}. */
    public static Map<String, Double> evaluate(BaseModel base, Adaptation adaptation, Objective objective,
            Iterator<Batch> batches) {
        return evaluate(base, adaptation, objective, batches, Attention.Policy.DEFAULT);
    }

    /** As {@link #evaluate(BaseModel, Adaptation, Objective, Iterator)}, long sequences' attention by {@code policy}. */
    public static Map<String, Double> evaluate(BaseModel base, Adaptation adaptation, Objective objective,
            Iterator<Batch> batches, Attention.Policy policy) {
        double sum = 0;
        long counted = 0;
        long correct = 0;
        try (GradMode g = GradMode.off()) {
            while (batches.hasNext()) {
                Batch b = batches.next();
                if (b.labelTokens() == 0) {
                    continue; // nothing to predict (one-token rows, or every label ignored)
                }
                try (Ops ops = Ops.scope(base.manager())) {
                    Forward f = Forward.eval(ops, base, adaptation).withMemory(null, policy.blockFor(b.length(),
                            false));
                    NDArray out = base.architecture().forward(f, b.modelInput(ops));
                    sum += objective.lossSum(ops, out, b).getFloat();
                    correct += objective.correct(ops, out, b);
                }
                counted += b.labelTokens();
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
