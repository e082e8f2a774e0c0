package dev.lora4j.api;

import dev.lora4j.api.trial.TrialResult;

/**
 * What flows between the pipeline's stages: either the next piece of work for a trial, or the trial's final result
 * when an earlier stage already decided it (kept from an earlier run). Stages pass results through unchanged.
 *
 * @param <T> what the next stage takes
 */
public sealed interface Step<T> {
    /**
     * The trial goes on to the next stage.
     *
     * @param <T> what the next stage takes
     * @param value what it takes
     */
    record Next<T>(T value) implements Step<T> {}

    /**
     * The trial's end was decided already; later stages pass it through.
     *
     * @param <T> what the next stage would have taken
     * @param result the trial's result
     */
    record Done<T>(TrialResult result) implements Step<T> {}

    /**
     * @param <T> what the next stage takes
     * @param value what it takes
     * @return a step that goes on
     */
    static <T> Step<T> next(T value) {
        return new Next<>(value);
    }

    /**
     * @param <T> what the next stage would have taken
     * @param result the trial's result
     * @return a step that is over
     */
    static <T> Step<T> done(TrialResult result) {
        return new Done<>(result);
    }
}
