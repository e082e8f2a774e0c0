package dev.lora4j.actors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.sweep.TrialSpec;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The sweep's early termination (ASHA, Hyperband) or population-based training, consulted by each trial's session at each evaluation of the trial (the lane,
 * wherever it is, waits for the verdict). Shared by every session of a sweep, so implementations are thread-safe.
 */
public interface StopRule {
    /** Why the trial should stop now, or null to let it go on. */
    String shouldStop(String trialId, long step, Map<String, Double> metrics);

    /** Steps at which the rule wants an evaluation besides the configured cadence (they travel to the lanes). */
    default Set<Long> evaluationSteps() {
        return Set.of();
    }

    /**
     * Records an evaluation that happened in an earlier run of the sweep (a resumed sweep replays what its trials
     * reached), so decisions go on as if the sweep had never been interrupted.
     */
    default void replay(String trialId, long step, Map<String, Double> metrics) {}

    /**
     * A trial's session starts, or a resumed sweep keeps an ended trial: the rule learns the trial and what its files
     * say it became; returns the trial to train (population-based training: with the configuration of its last copy).
     *
     * @param resumed the sweep is resumed (the files hold what earlier runs did)
     * @param ended the trial ended in an earlier run and does not train again
     */
    default TrialSpec begin(TrialSpec spec, TrialFiles files, boolean resumed, boolean ended) {
        return spec;
    }

    /**
     * Population-based training at the evaluation of {@code step} (after {@link #shouldStop} recorded it and let the
     * trial go on): the checkpoint and configuration the trial takes instead of its own, or null to go on as it is.
     */
    default Exploit exploit(TrialSpec spec, long step) {
        return null;
    }

    /** Whether the rule reads checkpoints of other trials, which must then be kept. */
    default boolean readsCheckpoints() {
        return false;
    }

    /**
     * A trial copies {@code parent}'s {@code checkpoint} of {@code step} and trains on as {@code next}.
     *
     * @param config the canonical fields of {@code next}'s configuration (recorded in the trial's lineage)
     */
    record Exploit(String parent, long step, Path checkpoint, TrialSpec next, Map<String, JsonNode> config) {}
}
