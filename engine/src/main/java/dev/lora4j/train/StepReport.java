package dev.lora4j.train;

/**
 * What one optimizer step did: the loss averaged over the accumulation window, the learning rate it used, the
 * gradient norm before clipping, throughput, the process's peak resident memory, and the tokens of the window: real
 * ones and what the model computed over, padding included (rows x padded length; packing and
 * {@code group_by_length} bring the two together).
 */
public record StepReport(long step, long totalSteps, double epoch, double loss, double learningRate, double gradNorm,
        double tokensPerSecond, double examplesPerSecond, long peakRssMb, double elapsedSeconds, long tokens,
        long paddedTokens) {

    /** A report without token counts (they read as 0). */
    public StepReport(long step, long totalSteps, double epoch, double loss, double learningRate, double gradNorm,
            double tokensPerSecond, double examplesPerSecond, long peakRssMb, double elapsedSeconds) {
        this(step, totalSteps, epoch, loss, learningRate, gradNorm, tokensPerSecond, examplesPerSecond, peakRssMb,
                elapsedSeconds, 0, 0);
    }
}
