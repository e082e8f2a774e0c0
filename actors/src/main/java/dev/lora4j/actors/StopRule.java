package dev.lora4j.actors;

import java.util.Map;
import java.util.Set;

/**
 * The sweep's early termination (ASHA), consulted by each trial's session at each evaluation of the trial (the lane,
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
}
