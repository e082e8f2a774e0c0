package dev.lora4j.actors;

import java.util.Map;

/**
 * The sweep's early termination (ASHA), consulted by the lanes at each evaluation of a trial. Shared by every lane
 * of a sweep, so implementations are thread-safe.
 */
public interface StopRule {
    /** Why the trial should stop now, or null to let it go on. */
    String shouldStop(String trialId, long step, Map<String, Double> metrics);

    /** Steps at which the rule wants an evaluation besides the configured cadence. */
    default boolean evaluateAt(long step) {
        return false;
    }

    /**
     * Records an evaluation that happened in an earlier run of the sweep (a resumed sweep replays what its trials
     * reached), so decisions go on as if the sweep had never been interrupted.
     */
    default void replay(String trialId, long step, Map<String, Double> metrics) {}
}
