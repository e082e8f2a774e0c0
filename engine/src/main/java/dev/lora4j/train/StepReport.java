package dev.lora4j.train;

/**
 * What one optimizer step did: the loss averaged over the accumulation window, the learning rate it used, the
 * gradient norm before clipping, throughput, and the process's peak resident memory.
 */
public record StepReport(long step, long totalSteps, double epoch, double loss, double learningRate, double gradNorm,
        double tokensPerSecond, double examplesPerSecond, long peakRssMb, double elapsedSeconds) {}
