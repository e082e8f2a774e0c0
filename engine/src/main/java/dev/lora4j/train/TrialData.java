package dev.lora4j.train;

import dev.lora4j.data.Batch;
import java.util.List;

/** A trial's data ready for training: its own stream of training batches and the (shared) evaluation batches. */
public record TrialData(BatchSource train, List<Batch> eval, Objective objective) {
    public TrialData {
        eval = List.copyOf(eval);
    }
}
