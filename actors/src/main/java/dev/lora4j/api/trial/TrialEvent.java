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
    String trialId();

    /** Whether a slow subscriber may miss this event. */
    default boolean droppable() {
        return false;
    }

    /** The trial entered the sweep and waits for validation and a device. */
    record Queued(String trialId, String name, long index) implements TrialEvent {}

    /**
     * An attempt began training on a device lane ({@code resumedAtStep} > 0: from a checkpoint).
     *
     * @param attempt 1 for the first try; retries and out-of-memory back-offs count up
     */
    record Started(String trialId, String name, String lane, long totalSteps, long resumedAtStep, int attempt)
            implements TrialEvent {}

    record Progress(String trialId, String name, StepReport report) implements TrialEvent {
        @Override
        public boolean droppable() {
            return true;
        }
    }

    record Evaluated(String trialId, String name, long step, Map<String, Double> metrics, boolean best)
            implements TrialEvent {}

    record Checkpointed(String trialId, long step, Path path) implements TrialEvent {}

    /** An attempt failed and the trial starts again (from its last checkpoint), with these micro-batches. */
    record Retried(String trialId, String name, int attempt, Failure failure, int batchSize, int accumulation)
            implements TrialEvent {}

    /**
     * The trial's one terminal event: finished, stopped, failed, rejected or cancelled, as {@code result}'s status
     * says.
     *
     * @param kept the trial had ended in an earlier run of a resumed sweep, which kept it as it was
     */
    record Ended(TrialResult result, boolean kept) implements TrialEvent {
        @Override
        public String trialId() {
            return result.trialId();
        }
    }
}
