package dev.lora4j.api.trial;

import dev.lora4j.train.StepReport;
import java.nio.file.Path;
import java.util.Map;

/**
 * What happens to a trial, as the sweep's event stream carries it to progress bars, dashboards and apps. Every trial
 * that enters a sweep gets exactly one {@link Ended} event, whatever happens to it; {@link Progress} is frequent and
 * may be dropped for a slow subscriber; every other event is always delivered.
 */
public sealed interface TrialEvent {
    /**
     * The trial the event is about.
     *
     * @return its id (its folder's name)
     */
    String trialId();

    /**
     * Whether a slow subscriber may miss this event.
     *
     * @return true for {@link Progress} only
     */
    default boolean droppable() {
        return false;
    }

    /**
     * The trial entered the sweep and waits for validation and a device.
     *
     * @param trialId its id
     * @param name its readable name
     * @param index its place in the sweep's expansion
     */
    record Queued(String trialId, String name, long index) implements TrialEvent {}

    /**
     * An attempt began training on a device lane.
     *
     * @param trialId its id
     * @param name its readable name
     * @param lane the lane's name ({@code cpu-0}, {@code gpu-0-0})
     * @param node the lane's node: {@code local}, or a cluster node's {@code host:port}
     * @param totalSteps optimizer steps the trial runs to
     * @param resumedAtStep the checkpoint's step it continues from, 0 for a fresh start
     * @param attempt 1 for the first try; retries, out-of-memory back-offs and lost nodes count up
     */
    record Started(String trialId, String name, String lane, String node, long totalSteps, long resumedAtStep,
            int attempt) implements TrialEvent {}

    /**
     * One optimizer step (may be dropped for a slow subscriber).
     *
     * @param trialId its id
     * @param name its readable name
     * @param report the step's loss, learning rate, gradient norm, throughput
     */
    record Progress(String trialId, String name, StepReport report) implements TrialEvent {
        @Override
        public boolean droppable() {
            return true;
        }
    }

    /**
     * An evaluation on the eval data.
     *
     * @param trialId its id
     * @param name its readable name
     * @param step the step it evaluated at
     * @param metrics {@code eval_loss} and the task's own
     * @param best whether it is the trial's best so far by the sweep's metric
     */
    record Evaluated(String trialId, String name, long step, Map<String, Double> metrics, boolean best)
            implements TrialEvent {}

    /**
     * Something about the trial's model or adapter that PEFT or transformers would warn about (checkpoint tensors the
     * model does not use, a tied layer in {@code modules_to_save}), said when the trial's model is made. Trials
     * sharing a base or a config say the same thing: show each message once.
     *
     * @param trialId its id
     * @param name its readable name
     * @param message the warning, PEFT's or transformers' wording
     */
    record Warned(String trialId, String name, String message) implements TrialEvent {}

    /**
     * A checkpoint is on disk.
     *
     * @param trialId its id
     * @param step the step it holds
     * @param path its folder ({@code checkpoints/step-N})
     */
    record Checkpointed(String trialId, long step, Path path) implements TrialEvent {}

    /**
     * An attempt failed and the trial starts again (from its last checkpoint).
     *
     * @param trialId its id
     * @param name its readable name
     * @param attempt the attempt about to start (2 for the first retry)
     * @param failure why the last one ended
     * @param batchSize the micro-batch of the next attempt (halved after running out of memory)
     * @param accumulation its accumulation steps (doubled after running out of memory)
     */
    record Retried(String trialId, String name, int attempt, Failure failure, int batchSize, int accumulation)
            implements TrialEvent {}

    /**
     * The trial's one terminal event: finished, stopped, failed, rejected or cancelled, as {@code result}'s status
     * says.
     *
     * @param result how it ended
     * @param kept the trial had ended in an earlier run of a resumed sweep, which kept it as it was
     */
    record Ended(TrialResult result, boolean kept) implements TrialEvent {
        @Override
        public String trialId() {
            return result.trialId();
        }
    }
}
