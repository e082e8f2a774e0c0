package dev.lora4j.train;

import dev.lora4j.data.Batch;
import java.util.List;

/**
 * A trial's data ready for training: its own stream of training batches and the (shared) evaluation batches.
 *
 * @param train     the training batches
 * @param eval      the evaluation batches, in file order
 * @param objective the loss
 * @param labels    SEQ_CLS: the class names in id order, as the data was mapped (saved with the adapter); empty
 *                  otherwise
 */
public record TrialData(BatchSource train, List<Batch> eval, Objective objective, List<String> labels) {
    public TrialData {
        eval = List.copyOf(eval);
        labels = labels == null ? List.of() : List.copyOf(labels);
    }

    /** Data without class names (a causal LM). */
    public TrialData(BatchSource train, List<Batch> eval, Objective objective) {
        this(train, eval, objective, List.of());
    }

    /** The same data with another source of training batches (a prefetching one). */
    public TrialData withTrain(BatchSource batches) {
        return new TrialData(batches, eval, objective, labels);
    }
}
