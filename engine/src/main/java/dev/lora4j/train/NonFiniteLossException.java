package dev.lora4j.train;

/** The loss became NaN or infinite: the trial cannot continue from here (its last checkpoint is still good). */
public final class NonFiniteLossException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NonFiniteLossException(long step, double loss) {
        super("loss is " + loss + " at step " + step + " (diverged: try a lower learning_rate, or max_grad_norm)");
    }
}
