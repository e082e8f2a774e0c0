package dev.lora4j.train;

import ai.djl.ndarray.NDArray;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.model.Losses;
import dev.lora4j.runtime.Ops;

/** What a task trains for and how it is scored, in transformers' terms. */
public sealed interface Objective {

    /** The summed loss of a batch (in the autograd graph); divide by the counted labels of the window. */
    NDArray lossSum(Ops ops, NDArray output, Batch batch);

    /** Correct predictions in a batch (classification), else 0. */
    long correct(Ops ops, NDArray output, Batch batch);

    /** Next-token cross-entropy; metrics eval_loss and eval_perplexity. */
    record CausalLm() implements Objective {
        @Override
        public NDArray lossSum(Ops ops, NDArray output, Batch batch) {
            return Losses.causalLmSum(ops, output, batch.labelArray(ops));
        }

        @Override
        public long correct(Ops ops, NDArray output, Batch batch) {
            return 0;
        }
    }

    /** Single-label classification cross-entropy; metrics eval_loss and eval_accuracy. */
    record Classification() implements Objective {
        @Override
        public NDArray lossSum(Ops ops, NDArray output, Batch batch) {
            return Losses.crossEntropySum(ops, output, batch.classLabelArray(ops));
        }

        @Override
        public long correct(Ops ops, NDArray output, Batch batch) {
            long[] predicted = ops.argMax(output, -1).toLongArray();
            long n = 0;
            for (int i = 0; i < predicted.length; i++) {
                n += predicted[i] == batch.classLabels()[i] ? 1 : 0;
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
