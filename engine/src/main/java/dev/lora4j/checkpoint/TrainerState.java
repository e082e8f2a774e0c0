package dev.lora4j.checkpoint;

import java.util.Map;

/**
 * Everything besides tensors that a resumed run needs to continue exactly: optimizer steps and micro-batches done
 * (the dropout stream is keyed by the latter), the data cursor and the micro-batch size it counts in (an
 * out-of-memory retry halves it), running sums for the reported metrics, and the early-stopping / best-checkpoint
 * bookkeeping; with fp16, the loss scale, its growth tracker and the optimizer steps skipped on overflow (a checkpoint
 * from before these fields reads them as absent: fp32, nothing skipped).
 */
public record TrainerState(long step, long microBatches, int epoch, int index, int batchSize, double trainLossSum,
        long tokensSeen,
        long examplesSeen, double elapsedSeconds, Double bestMetric, long bestStep, int evalsWithoutImprovement,
        Map<String, Double> lastEval, Double lossScale, int lossScaleGrowthTracker, long skippedSteps) {

    public TrainerState {
        lastEval = lastEval == null ? Map.of() : Map.copyOf(lastEval);
    }
}
