package dev.lora4j.train;

/**
 * Hugging Face's learning-rate schedules ({@code get_scheduler}): the rate used for optimizer step {@code k}
 * (0-based) is {@code lr * factor(k)}, so with warmup the very first update uses a rate of 0, as in transformers.
 */
public record LrSchedule(String type, double lr, int warmupSteps, int totalSteps) {

    public LrSchedule {
        if (!type.equals("constant") && !type.equals("linear") && !type.equals("cosine")) {
            throw new IllegalArgumentException("lr_scheduler_type " + type + ": expected constant, linear or cosine");
        }
    }

    /** Warmup steps as transformers derives them: explicit steps win, else {@code ceil(total * ratio)}. */
    public static int warmup(int warmupSteps, double warmupRatio, int totalSteps) {
        return warmupSteps > 0 ? warmupSteps : (int) Math.ceil(totalSteps * warmupRatio);
    }

    public double rate(long step) {
        return lr * factor(step);
    }

    double factor(long k) {
        if (k < warmupSteps) {
            return (double) k / Math.max(1, warmupSteps);
        }
        return switch (type) {
            case "constant" -> 1.0;
            case "linear" -> Math.max(0.0, (double) (totalSteps - k) / Math.max(1, totalSteps - warmupSteps));
            default -> {
                double progress = (double) (k - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
            }
        };
    }
}
