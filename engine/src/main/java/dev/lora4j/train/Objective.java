package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.Losses;
import dev.lora4j.runtime.Ops;

/** What a task trains for and how it is scored, in transformers' terms. */
public sealed interface Objective {

    /** The summed loss of a batch (in the autograd graph); divide by the counted items of the window. */
    NDArray lossSum(Ops ops, NDArray output, MicroBatch batch);

    /** Correct predictions in a batch (classification), else 0. */
    long correct(Ops ops, NDArray output, MicroBatch batch);

    /** Next-token cross-entropy; metrics eval_loss and eval_perplexity. */
    record CausalLm() implements Objective {
        @Override
        public NDArray lossSum(Ops ops, NDArray output, MicroBatch batch) {
            return Losses.causalLmSum(ops, output, batch.labels(ops));
        }

        @Override
        public long correct(Ops ops, NDArray output, MicroBatch batch) {
            return 0;
        }
    }

    /** Single-label classification cross-entropy; metrics eval_loss and eval_accuracy. */
    record Classification() implements Objective {
        @Override
        public NDArray lossSum(Ops ops, NDArray output, MicroBatch batch) {
            return Losses.crossEntropySum(ops, output, batch.labels(ops));
        }

        @Override
        public long correct(Ops ops, NDArray output, MicroBatch batch) {
            long[] predicted = ops.argMax(output, -1).toLongArray();
            long n = 0;
            for (int i = 0; i < predicted.length; i++) {
                n += predicted[i] == batch.labels()[i] ? 1 : 0;
            }
            return n;
        }
    }

    static Objective of(TaskType task) {
        return switch (task) {
            case CAUSAL_LM -> new CausalLm();
            case SEQ_CLS -> new Classification();
            default -> throw new IllegalArgumentException("training for task " + task
                    + " is not supported (supported: CAUSAL_LM, SEQ_CLS)");
        };
    }
}
