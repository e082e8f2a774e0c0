package dev.lora4j.actors;

import dev.lora4j.config.ConfigError;
import dev.lora4j.train.StepReport;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What happens to a trial, as the pipeline's event stream carries it to progress bars, dashboards and apps.
 * {@link Progress} is frequent and may be dropped for a slow subscriber; every other event is a lifecycle event and
 * is always delivered.
 */
public sealed interface TrialEvent {
    String trialId();

    /** Whether a slow subscriber may miss this event. */
    default boolean droppable() {
        return false;
    }

    record Queued(String trialId, String name, long index) implements TrialEvent {}

    record Rejected(String trialId, String name, List<ConfigError> errors) implements TrialEvent {}

    record Started(String trialId, String name, String device, long totalSteps, long resumedAtStep)
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

    record Stopped(String trialId, String name, long step, String reason) implements TrialEvent {}

    record Retried(String trialId, String name, int attempt, String reason, int batchSize, int accumulation)
            implements TrialEvent {}

    record Failed(String trialId, String name, String reason, long step) implements TrialEvent {}

    record Finished(String trialId, TrialResult result) implements TrialEvent {}
}
