package dev.lora4j.train;

/**
 * Dynamic loss scaling for fp16 training, with PyTorch's {@code torch.amp.GradScaler} rules: the loss is multiplied
 * by the scale before the backward pass so that small gradients survive fp16's range; the gradients are divided by
 * it before clipping and the update. A step whose gradients overflowed is skipped and halves the scale; every
 * {@code growthInterval} consecutive good steps double it.
 */
public final class LossScaler {
    /** GradScaler's defaults. */
    public static final double INIT_SCALE = 65536.0;
    public static final double GROWTH_FACTOR = 2.0;
    public static final double BACKOFF_FACTOR = 0.5;
    public static final int GROWTH_INTERVAL = 2000;

    private final int growthInterval;
    private double scale;
    private int growthTracker;

    public LossScaler(double initScale, int growthInterval) {
        if (!(initScale > 0) || Double.isInfinite(initScale)) {
            throw new IllegalArgumentException("loss scale must be a positive finite number, got " + initScale);
        }
        if (growthInterval < 1) {
            throw new IllegalArgumentException("growth interval must be >= 1, got " + growthInterval);
        }
        this.scale = initScale;
        this.growthInterval = growthInterval;
    }

    /** GradScaler's defaults: 2^16, doubling after 2000 good steps, halving on overflow. */
    public static LossScaler dynamic() {
        return new LossScaler(INIT_SCALE, GROWTH_INTERVAL);
    }

    /** The factor the next backward pass's loss is multiplied by. */
    public double scale() {
        return scale;
    }

    /** Consecutive good steps since the scale last changed. */
    public int growthTracker() {
        return growthTracker;
    }

    /** After a step: {@code finite} says whether the unscaled gradients were all finite (the step was taken). */
    public void update(boolean finite) {
        if (!finite) {
            scale *= BACKOFF_FACTOR;
            growthTracker = 0;
            return;
        }
        growthTracker++;
        if (growthTracker == growthInterval) {
            scale *= GROWTH_FACTOR;
            growthTracker = 0;
        }
    }

    /** Continues from a checkpoint's scale and tracker. */
    public void restore(double savedScale, int savedTracker) {
        this.scale = savedScale;
        this.growthTracker = savedTracker;
    }
}
