package dev.lora4j.api;

import dev.lora4j.api.trial.TrialResult;

/**
 * What flows between the pipeline's stages: either the next piece of work for a trial, or the trial's final result
 * when an earlier stage already decided it (kept from an earlier run). Stages pass results through unchanged.
 */
public sealed interface Step<T> {
    record Next<T>(T value) implements Step<T> {}

    record Done<T>(TrialResult result) implements Step<T> {}

    static <T> Step<T> next(T value) {
        return new Next<>(value);
    }

    static <T> Step<T> done(TrialResult result) {
        return new Done<>(result);
    }
}
